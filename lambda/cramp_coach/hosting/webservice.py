"""Self-hosting: the same skill as an HTTPS endpoint's backend, with flask-ask-sdk and waitress.

* ``create_app(...)`` builds the Flask app: ``POST /`` is the skill (flask-ask-sdk's
  ``SkillAdapter``), ``GET /healthz`` is for load balancers. Verification is on unless
  ``verify=False`` is passed explicitly.
* ``app`` (module attribute, built on first access from the environment) is the WSGI object
  for any WSGI server: ``gunicorn 'cramp_coach.hosting.webservice:app'``, ``waitress-serve ...``.
* ``serve.serve(host, port, ...)`` runs waitress programmatically; `cramp-coach serve` calls it.
  Flask's development server is never used. Why waitress: its event loop reads each request
  whole (headers, then the body, within the size limits) before a thread runs the app, so
  slow or silent clients hold sockets, never the threads that answer genuine requests
  (gunicorn's sync and gthread workers read in the worker and can be held: measured in
  bench/slow_clients.py, figures in the README). Connections silent for ``channel_timeout``
  are closed; a client that trickles forever keeps only its socket, which the buffering proxy
  in deploy/ bounds with its header and body timeouts.
* The store's per-turn budget (:mod:`cramp_coach.memory.turn`) is begun by the outermost WSGI layer,
  when the server hands the complete request over, and ended after the response is built.

What is refused before any handler runs (4xx with a JSON body; the skill never runs):

* 413: body over ``MAX_BODY_BYTES`` (Content-Length checked before reading; chunked too);
* 400: body not UTF-8, not JSON, not a JSON object, nested over ``MAX_JSON_DEPTH``, not a
  request envelope;
* 400: missing/wrong signature, certificate URL, chain, name (exactly echo-api.amazon.com)
  or dates; stale timestamp; a certificate chain that cannot be fetched (no redirects);
* 400: with a skill id (SKILL_ID; required when verifying), a request whose
  context.System.application.applicationId is missing or another skill's, or whose
  session.application names another skill;
* 405 with ``Allow: POST``: any other method on ``/`` (OPTIONS and HEAD included).

Verification is done by :mod:`cramp_coach.hosting.verification` (``cryptography`` only; read its
docstring for why certvalidator/oscrypto are never imported). Import that module before
flask_ask_sdk, which this module does.

Access log: one JSON line per request on the ``cramp_coach.access`` logger (stdout): method,
path, status, duration, request type and intent name when the body parsed, the reason when
refused. Never the user id, session or device ids, nor slot values.
"""

from __future__ import annotations

# Import order matters: verification registers the certvalidator placeholder that lets
# flask_ask_sdk import on OpenSSL 3.0.1x (see cramp_coach/hosting/verification.py).
from cramp_coach.hosting import verification  # noqa: F401

# isort: split

import json
import logging
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ask_sdk_core.skill import CustomSkill
from ask_sdk_model.request_envelope import RequestEnvelope
from cryptography import x509
from flask import Flask, Response, g, jsonify, request
from flask_ask_sdk.skill_adapter import (
    VERIFY_SIGNATURE_APP_CONFIG,
    VERIFY_TIMESTAMP_APP_CONFIG,
    SkillAdapter,
)
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from cramp_coach.alexa.envelope import MAX_ENVELOPE_DEPTH, depth_over, dunder_key
from cramp_coach.hosting.access_log import ACCESS_LOG, _configure_access_log, _RefusalFilter, _short
from cramp_coach.hosting.arrival import MAX_BODY_BYTES, TurnClock
from cramp_coach.hosting.verification import (
    AlexaRequestVerifier,
    Clock,
    Fetcher,
    SkillIdVerifier,
)
from cramp_coach.hosting.web_config import ConfigurationError, verify_from_env, warn_unverified

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "ConfigurationError",
    "app_from_env",
    "create_app",
]

# Bodies nested deeper than Alexa ever sends are refused before the SDK or the skill recurse
# into them (RecursionError, a 500): the same bound as the Lambda path's.
MAX_JSON_DEPTH = MAX_ENVELOPE_DEPTH
log = logging.getLogger("cramp_coach.hosting.webservice")


def _resolve_skill_id(skill: CustomSkill, skill_id: str | None) -> str | None:
    own = getattr(skill, "skill_id", None)  # build_skill() sets it from SKILL_ID
    if skill_id and own and skill_id != own:
        # Two different ids would let our check pass and the SDK's fail with a 500.
        raise ConfigurationError(f"skill_id {skill_id!r} differs from the skill's {own!r}")
    found = skill_id or own or os.environ.get("SKILL_ID")
    return str(found) if found else None


def _refuse(reason: str) -> BadRequest:
    g.refused = reason
    return BadRequest(description=reason)


def create_app(
    skill: CustomSkill | None = None,
    *,
    verify: bool = True,
    skill_id: str | None = None,
    trust_anchors: Sequence[x509.Certificate] | None = None,
    fetcher: Fetcher | None = None,
    clock: Clock | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    route: str = "/",
) -> Flask:
    """The Flask app serving `skill` (default: ``build_skill()``) at POST `route`.

    `trust_anchors`, `fetcher` and `clock` replace the public roots, the HTTPS certificate
    download and the wall clock (tests, benchmarks); verification itself always runs when
    `verify` is true. The skill id comes from `skill_id`, else the skill, else SKILL_ID;
    with verification on it is required.
    """
    if skill is None:
        from cramp_coach.alexa.skill import build_skill

        skill = build_skill()
    if not isinstance(skill, CustomSkill):
        raise TypeError("skill must be an ask_sdk_core CustomSkill")
    resolved_id = _resolve_skill_id(skill, skill_id)
    if verify and not resolved_id:
        raise ConfigurationError(
            "request verification needs the skill id: set SKILL_ID (amzn1.ask.skill....). "
            "A valid signature only proves the request came from Alexa, not from your skill."
        )

    # The skill id is checked here, once, before any handler (400 on mismatch). It is also
    # what the skill itself would check; with the same id that check can never fail after
    # this one, so a wrong id is never the SDK's 500.
    verifiers: list[Any] = []
    if resolved_id:
        verifiers.append(SkillIdVerifier(resolved_id))
    if verify:
        verifiers.append(AlexaRequestVerifier(trust_anchors, fetcher, clock))
    else:
        log.warning("request verification is OFF (create_app(verify=False))")

    app = Flask("cramp_coach.hosting.webservice", static_folder=None)  # no /static route to probe
    app.config.update(
        MAX_CONTENT_LENGTH=max_body_bytes,  # werkzeug refuses (413) before reading the body
        # The SDK's own verifiers import certvalidator/oscrypto and turn an unreachable
        # certificate into a 500; ours replace them (see verification.py).
        **{VERIFY_SIGNATURE_APP_CONFIG: False, VERIFY_TIMESTAMP_APP_CONFIG: False},
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.logger.addFilter(_RefusalFilter())
    _configure_access_log()
    adapter = SkillAdapter(
        skill=skill, skill_id=resolved_id or "cramp-coach", verifiers=verifiers, app=app
    )
    app.extensions["cramp_coach"] = {"verify": verify, "skill_id": resolved_id}
    serializer = skill.serializer

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    # POST only: no automatic OPTIONS (Flask's would answer 200), so anything else is 405.
    @app.route(route, methods=["POST"], provide_automatic_options=False)
    def skill_endpoint() -> Response:
        body = request.get_data(cache=True)  # 413 when Content-Length is over the limit
        if request.content_length is None and len(body) >= max_body_bytes:
            # Chunked body: werkzeug stops reading at the limit and returns what it has,
            # silently truncated. Refuse it instead.
            g.refused = "body too large"
            raise RequestEntityTooLarge()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse("body is not UTF-8") from None
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            raise _refuse("body is not JSON") from None
        if not isinstance(parsed, dict):
            raise _refuse("body is not a JSON object")
        if depth_over(parsed, MAX_JSON_DEPTH):
            raise _refuse("body nested too deep")
        if dunder_key(parsed):
            raise _refuse("body has a reserved key")
        inner = parsed.get("request")
        if isinstance(inner, dict):
            g.request_type = _short(inner.get("type"))
            intent = inner.get("intent")
            g.intent = _short(intent.get("name")) if isinstance(intent, dict) else None
        # flask-ask-sdk would let a deserialisation error escape as a 500: refuse it here.
        try:
            envelope = serializer.deserialize(payload=text, obj_type=RequestEnvelope)
        except Exception:
            raise _refuse("not a request envelope") from None
        if not isinstance(envelope, RequestEnvelope) or envelope.request is None:
            raise _refuse("not a request envelope")
        # Verification (our verifiers) and dispatch: flask-ask-sdk.
        return adapter.dispatch_request()  # type: ignore[no-any-return]

    @app.route("/healthz", methods=["GET"], provide_automatic_options=False)
    def healthz() -> Response:
        response = jsonify(status="ok")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        response = jsonify(error=error.name, message=error.description)
        if status == 405:
            response.headers["Allow"] = ", ".join(
                error.valid_methods
                if hasattr(error, "valid_methods") and error.valid_methods
                else ["POST"]
            )
        return response, status

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        # Logged with the traceback server-side; the body never carries one.
        log.error("unhandled %s", type(error).__name__, exc_info=error)
        return jsonify(error="Internal Server Error"), 500

    @app.after_request
    def _access_log(response: Response) -> Response:
        started = g.get("started")
        line = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "bytes_in": request.content_length,
            "request_type": g.get("request_type"),
            "intent": g.get("intent"),
        }
        if g.get("refused"):
            line["refused"] = g.refused
        ACCESS_LOG.info(json.dumps(line, ensure_ascii=True))
        return response

    app.wsgi_app = TurnClock(app.wsgi_app)  # type: ignore[method-assign]

    # Content is otherwise read on the first request: pay it at start, not on a listener.
    from cramp_coach.content import load_content

    load_content("en-US")
    return app


def app_from_env() -> Flask:
    """The WSGI app configured from the environment (SKILL_ID, CRAMP_VERIFY, CRAMP_STORE...)."""
    verify = verify_from_env()
    if not verify:
        warn_unverified()
    return create_app(verify=verify)


_APP: Flask | None = None


def __getattr__(name: str) -> Any:
    # `app` is built on first access, so importing this module stays cheap and side-effect
    # free, and `gunicorn cramp_coach.hosting.webservice:app` still finds a WSGI object.
    global _APP
    if name == "app":
        if _APP is None:
            _APP = app_from_env()
        return _APP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
