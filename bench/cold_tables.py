"""The cold bench's local DynamoDB: moto's server, the two tables and what the bench users
have stored in them.

The server is moto's DynamoDB (ThreadedMotoServer on 127.0.0.1) inside the bench's process;
the children get dummy credentials (``aws_env``), AWS_DEFAULT_REGION=us-east-1 and the
server's URL. ``prepare_tables`` writes the users' profiles through the skill itself: an
interrupted routine for BENCH_USER and a 12-hour RF-PE lock for LOCKED_USER.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

CRAMP_TABLE = "cramp-coach-bench"
OFFICIAL_TABLE = "official-persistence-bench"
BENCH_USER = "amzn1.ask.account.BENCHUSER"  # an interrupted routine (the launch resumes)
LOCKED_USER = "amzn1.ask.account.BENCHLOCKED"  # an RF-PE lock from 15 minutes ago
NEW_USER = "amzn1.ask.account.BENCHNEW"  # nothing stored
LOCK_FLAG = "RF_PE"
REGION = "us-east-1"


def aws_env(endpoint: str) -> dict[str, str]:
    """Dummy credentials and the local endpoint: nothing can reach real AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "CRAMP_DYNAMODB_ENDPOINT": endpoint,
        "CRAMP_USER_SALT": "bench-salt",  # the stored profile and the children agree on it
    }


@contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def local_dynamodb() -> Iterator[str]:
    """moto's DynamoDB server on a free loopback port, for the duration of the block."""
    import logging

    from moto.server import ThreadedMotoServer

    from cramp_coach.hosting.local.loopback import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on stderr
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def prepare_tables(endpoint: str, now: float) -> dict[str, str]:
    """Create both tables and give the bench users something to read in each. Returns the
    words the locked user's one-shot must and must not say."""
    import boto3

    from cramp_coach.alexa.handle import handle_envelope
    from cramp_coach.alexa.skill import build_skill
    from cramp_coach.hosting.local.envelopes import Session
    from cramp_coach.memory.dynamodb import DynamoStore
    from cramp_coach.memory.dynamodb_calls import table_definition

    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    client.create_table(**table_definition(CRAMP_TABLE))
    client.create_table(
        TableName=OFFICIAL_TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(
        TableName=OFFICIAL_TABLE,
        Item={
            "id": {"S": BENCH_USER},
            "attributes": {"M": {"resume_step": {"N": "2"}, "muscle": {"S": "CALF"}}},
        },
    )
    # Our profile is written by the skill itself, through the real store: a routine started
    # a few minutes ago, one step done, then the session timed out (a resumable routine).
    skill = build_skill(store_factory=lambda: DynamoStore(CRAMP_TABLE, endpoint_url=endpoint))
    session = Session(user_id=BENCH_USER)
    started = now - 300
    session.absorb(
        handle_envelope(
            skill,
            session.intent(
                "CrampIntent", started, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
            ),
        )
    )
    session.absorb(handle_envelope(skill, session.intent("AMAZON.NextIntent", started + 20)))
    session.absorb(handle_envelope(skill, session.session_ended(started + 40)))
    # The locked user: a session 15 minutes ago raised RF-PE ("she can't breathe"); its lock
    # is stored for 12 hours, and a later one-shot must hear the warning before any step.
    locked = Session(user_id=LOCKED_USER)
    raised = now - 900
    calf_her = {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    locked.absorb(handle_envelope(skill, locked.intent("CrampIntent", raised, calf_her)))
    said = handle_envelope(
        skill,
        locked.intent("SymptomIntent", raised + 20, {"symptom": ("she can't breathe", LOCK_FLAG)}),
    )
    locked.absorb(said)
    handle_envelope(skill, locked.session_ended(raised + 40))
    from cramp_coach.content import load_content

    content = load_content("en-US")
    warning = content.red_flags[LOCK_FLAG].script
    step1 = content.muscles["CALF"].partner[0].text
    if warning not in str(said["response"]["outputSpeech"]["ssml"]):
        raise RuntimeError("the bench could not raise the lock it seeds")
    return {"warning": warning, "step1": step1}
