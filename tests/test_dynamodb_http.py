"""DynamoHttpClient and its SigV4 signature: the client a cold Lambda uses for the table.

Three kinds of evidence: the signature equals botocore's for the same request; a server that
verifies signatures and IAM policies (moto with IAM authentication on) accepts the client's
calls under exactly the actions template.yaml grants; and the wire behaviour (headers,
keep-alive, errors, retries) seen from a loopback server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from moto.core.authorization import enable_iam_authentication

from cramp_coach.persistence import StoreError
from cramp_coach.persistence.dynamodb import DynamoStore, make_client
from cramp_coach.persistence.dynamodb_http import (
    DynamoHttpClient,
    DynamoHttpError,
    endpoint_for,
)
from cramp_coach.persistence.sigv4 import Credentials, authorization
from cramp_coach.skill import build_skill
from tests.dynamo_server import LoopbackMoto, create_table, fault_server, moto_server
from tests.persistence_envelopes import T0, Device
from tests.test_template import load_template

__all__ = ["moto_server"]  # the session fixture, imported for pytest

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # AWS's documentation example key


# ---------------------------------------------------------------- the signature
def botocore_authorization(
    url: str, headers: dict[str, str], body: bytes, creds: Credentials, region: str, date: str
) -> str:
    """What botocore's own SigV4 signer puts in Authorization for the same request."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    request.context["timestamp"] = date
    signer = SigV4Auth(
        BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
        "dynamodb",
        region,
    )
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    scope = signer.credential_scope(request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    return (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


@pytest.mark.parametrize(
    ("url", "host", "region", "token", "body"),
    [
        (
            "https://dynamodb.eu-west-1.amazonaws.com/",
            "dynamodb.eu-west-1.amazonaws.com",
            "eu-west-1",
            "FwoGZXIvYXdzEXAMPLETOKEN==",
            b'{"TableName":"t"}',
        ),
        (
            "https://dynamodb.us-east-1.amazonaws.com/",
            "dynamodb.us-east-1.amazonaws.com",
            "us-east-1",
            None,
            b"{}",
        ),
        (
            "http://127.0.0.1:8000/",
            "127.0.0.1:8000",
            "us-east-1",
            None,
            json.dumps({"Item": {"muscle": {"S": "Wade \u2019s calf  cramp"}}}).encode(),
        ),
        (
            "https://dynamodb.cn-north-1.amazonaws.com.cn/",
            "dynamodb.cn-north-1.amazonaws.com.cn",
            "cn-north-1",
            "token with  double  spaces",
            b"",
        ),
    ],
)
def test_signature_equals_botocores(
    url: str, host: str, region: str, token: str | None, body: bytes
) -> None:
    creds = Credentials("AKIDEXAMPLE", SECRET, token)
    date = "20261121T031500Z"
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Host": host,
        "X-Amz-Date": date,
        "X-Amz-Target": "DynamoDB_20120810.Query",
    }
    if token:
        headers["X-Amz-Security-Token"] = token
    ours = authorization(
        method="POST",
        path="/",
        headers=headers,
        body=body,
        credentials=creds,
        region=region,
        service="dynamodb",
        amz_date=date,
    )
    assert ours == botocore_authorization(url, headers, body, creds, region, date)
    assert SECRET not in ours


def test_signature_changes_with_every_signed_part() -> None:
    creds = Credentials("AKIDEXAMPLE", SECRET)
    base: dict[str, Any] = {
        "method": "POST",
        "path": "/",
        "body": b"{}",
        "credentials": creds,
        "region": "us-east-1",
        "service": "dynamodb",
        "amz_date": "20261121T031500Z",
        "headers": {"Host": "h", "X-Amz-Target": "DynamoDB_20120810.Query"},
    }
    reference = authorization(**base)
    changes = [
        {"body": b'{"a":1}'},
        {"region": "eu-west-1"},
        {"amz_date": "20261121T031501Z"},
        {"headers": {"Host": "h", "X-Amz-Target": "DynamoDB_20120810.PutItem"}},
        {"credentials": Credentials("AKIDEXAMPLE", SECRET + "x")},
    ]
    for change in changes:
        assert authorization(**(base | change)) != reference, change


def test_a_query_string_is_refused() -> None:
    with pytest.raises(ValueError, match="query"):
        authorization(
            method="POST",
            path="/?a=1",
            headers={},
            body=b"",
            credentials=Credentials("k", "s"),
            region="r",
            service="s",
            amz_date="20261121T031500Z",
        )


def test_credentials_hide_their_secrets() -> None:
    shown = repr(Credentials("AKIDEXAMPLE", SECRET, "session-token"))
    assert "AKIDEXAMPLE" in shown
    assert SECRET not in shown and "session-token" not in shown


# ---------------------------------------------------------------- a verifying server
def template_table_actions() -> list[str]:
    """The DynamoDB actions template.yaml grants the function's role."""
    function_role = load_template()["Resources"]["SkillRole"]["Properties"]
    for policy in function_role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            if any(str(a).startswith("dynamodb:") for a in actions):
                return [str(a) for a in actions]
    raise AssertionError("template.yaml grants no DynamoDB actions")


@pytest.fixture
def iam_user(moto_server: LoopbackMoto) -> Callable[[list[str]], dict[str, str]]:
    """A function that makes an IAM user allowed `actions` (on any resource) and gives its keys."""
    iam = boto3.session.Session().client(
        "iam",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def make(actions: list[str]) -> dict[str, str]:
        name = f"skill-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name,
            PolicyName="table",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }

    return make


def use_keys(monkeypatch: pytest.MonkeyPatch, keys: dict[str, str]) -> None:
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def test_verifying_server_accepts_every_call_under_the_template_policy(
    moto_server: LoopbackMoto, iam_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Save, load and delete a user through DynamoHttpClient with IAM checks on in the server:
    every signature verifies and every action is one the deployed role may take."""
    table = create_table(moto_server.endpoint)
    use_keys(monkeypatch, iam_user(template_table_actions()))
    store = DynamoStore(table, endpoint_url=moto_server.endpoint, client_kind="http")
    entry = {
        "rid": "r1",
        "started_at": T0,
        "muscle": "CALF",
        "variant": "partner",
        "outcome": "eased",
    }
    with enable_iam_authentication():
        store.save(
            "k",
            T0,
            entries=[entry],
            prefs={"default_variant": "alone"},
            resume=None,
            clear_resume=False,
            freq_advised=False,
        )
        profile = store.load("k", T0 + 60)
        store.delete_user("k")
        after = store.load("k", T0 + 120)
    assert isinstance(store.client, DynamoHttpClient)
    assert profile.default_variant == "alone" and len(profile.recent_starts) == 1
    assert after.default_variant is None and after.recent_starts == []


def test_verifying_server_refuses_a_wrong_secret_and_a_missing_action(
    moto_server: LoopbackMoto, iam_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: a bad signature and an ungranted action are both refused."""
    table = create_table(moto_server.endpoint)
    keys = iam_user(["dynamodb:PutItem", "dynamodb:UpdateItem"])  # no Query
    use_keys(monkeypatch, keys | {"AWS_SECRET_ACCESS_KEY": keys["AWS_SECRET_ACCESS_KEY"] + "x"})
    with enable_iam_authentication():
        with pytest.raises(StoreError, match="SignatureDoesNotMatch"):
            DynamoStore(table, endpoint_url=moto_server.endpoint, client_kind="http").load("k", T0)
        use_keys(monkeypatch, keys)
        store = DynamoStore(table, endpoint_url=moto_server.endpoint, client_kind="http")
        store.save(
            "k",
            T0,
            entries=[],
            prefs={"quiet": True},
            resume=None,
            clear_resume=False,
            freq_advised=False,
        )
        with pytest.raises(StoreError, match="AccessDenied"):
            store.load("k", T0 + 1)


# ---------------------------------------------------------------- choosing the client
@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "https://dynamodb.us-east-1.amazonaws.com"),
        ("ap-southeast-2", "https://dynamodb.ap-southeast-2.amazonaws.com"),
        ("us-gov-west-1", "https://dynamodb.us-gov-west-1.amazonaws.com"),
        ("cn-northwest-1", "https://dynamodb.cn-northwest-1.amazonaws.com.cn"),
        ("us-isob-east-1", None),
        ("eusc-de-east-1", None),
        ("", None),
        ("us-east-1.evil.example", None),
    ],
)
def test_endpoint_for_region(region: str, expected: str | None) -> None:
    assert endpoint_for(region) == expected


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "CRAMP_DYNAMODB_CLIENT",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    return monkeypatch


def with_keys(env: pytest.MonkeyPatch) -> None:
    env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def test_keys_in_the_environment_choose_the_http_client(clean_env: pytest.MonkeyPatch) -> None:
    with_keys(clean_env)
    client = make_client()
    assert isinstance(client, DynamoHttpClient)
    assert client.region == "eu-west-1"


def test_without_keys_boto3_is_used(clean_env: pytest.MonkeyPatch) -> None:
    """Profiles, SSO and SnapStart's container credentials are boto3's credential chain."""
    client = make_client()
    assert type(client).__module__.startswith("botocore")
    assert client.meta.region_name == "eu-west-1"


@pytest.mark.parametrize(
    "setting",
    [
        ("CRAMP_DYNAMODB_CLIENT", "boto3"),
        ("AWS_USE_FIPS_ENDPOINT", "true"),
        ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
        ("AWS_REGION", "us-isob-east-1"),
    ],
)
def test_settings_only_boto3_serves_choose_boto3(
    clean_env: pytest.MonkeyPatch, setting: tuple[str, str]
) -> None:
    with_keys(clean_env)
    clean_env.setenv(*setting)
    assert not isinstance(make_client(), DynamoHttpClient)


def test_forcing_http_without_keys_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CRAMP_DYNAMODB_CLIENT", "http")
    with pytest.raises(ValueError, match="AWS_ACCESS_KEY_ID"):
        make_client()


def test_an_unknown_client_kind_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CRAMP_DYNAMODB_CLIENT", "http2")
    with pytest.raises(ValueError, match="auto, http, boto3"):
        make_client()


def test_a_store_whose_client_cannot_be_made_still_lets_the_skill_speak(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """A misconfigured client (http forced, no keys) costs the memory, never the answer."""
    clean_env.setenv("CRAMP_DYNAMODB_CLIENT", "http")
    with pytest.raises(ValueError):
        DynamoStore("t").load("k", T0)
    dev = Device(build_skill(lambda: DynamoStore("t")), "amzn1.ask.account.NOKEYS")
    assert "Which muscle is cramping?" in dev.launch(T0).speech
    assert "Help them sit back or lie down" in dev.cramp(T0 + 5).speech


# ---------------------------------------------------------------- the wire
def test_request_headers_and_one_kept_alive_connection(
    moto_server: LoopbackMoto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    table = create_table(moto_server.endpoint)
    with fault_server("proxy", upstream=moto_server.endpoint) as proxy:
        client = make_client(proxy.endpoint, "http")
        for i in range(3):
            client.put_item(TableName=table, Item={"pk": {"S": "k"}, "sk": {"S": f"log#{i}"}})
        found = client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "k"}},
        )
    assert [item["sk"]["S"] for item in found["Items"]] == ["log#0", "log#1", "log#2"]
    assert len(set(proxy.peers)) == 1, "every call should reuse one keep-alive connection"
    first = proxy.seen_headers[0]
    assert first["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert first["Content-Type"] == "application/x-amz-json-1.0"
    assert first["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/dynamodb/aws4_request" in first["Authorization"]
    assert first["X-Amz-Security-Token"] == "testing"
    assert all(SECRET not in value for headers in proxy.seen_headers for value in headers.values())


def test_an_error_that_a_retry_cannot_mend_is_raised_after_one_call(
    moto_server: LoopbackMoto,
) -> None:
    with fault_server("proxy", upstream=moto_server.endpoint) as proxy:
        client = make_client(proxy.endpoint, "http")
        with pytest.raises(DynamoHttpError) as raised:
            client.get_item(TableName="no-such-table", Key={"pk": {"S": "k"}, "sk": {"S": "s"}})
    assert raised.value.code == "ResourceNotFoundException"
    assert raised.value.status == 400
    assert proxy.requests == 1
    assert str(raised.value) == "GetItem failed: ResourceNotFoundException (HTTP 400)"


def test_throttling_is_retried_once_and_the_error_names_only_the_code() -> None:
    with fault_server("throttle") as server:
        client = DynamoHttpClient("us-east-1", server.endpoint)
        with pytest.raises(DynamoHttpError) as raised:
            client.put_item(TableName="t", Item={"pk": {"S": "secret-user-key"}})
    assert server.requests == 2
    assert raised.value.code == "ProvisionedThroughputExceededException"
    assert "secret-user-key" not in str(raised.value)


def test_a_refused_connection_is_retried_then_reported() -> None:
    with fault_server("throttle") as server:
        endpoint = server.endpoint
    client = DynamoHttpClient("us-east-1", endpoint)  # nothing listens there any more
    with pytest.raises(DynamoHttpError) as raised:
        client.query(TableName="t")
    assert raised.value.code == "ConnectionRefusedError"
    assert raised.value.status == 0


def test_the_endpoint_must_be_an_http_url() -> None:
    for bad in ("ftp://example.com", "dynamodb.local:8000", "http://"):
        with pytest.raises(ValueError, match="http or https"):
            DynamoHttpClient("us-east-1", bad)
    with pytest.raises(ValueError, match="no DynamoDB endpoint"):
        DynamoHttpClient("us-isob-east-1")
