"""Serve the skill's web app on loopback for the end-to-end suite (local testing only).

    .venv/bin/python tests/e2e/serve_for_e2e.py [--port 0] [--port-file PATH]

Builds ``cramp_coach.hosting.webservice.create_app(verify=False)``: the documented local-testing
switch (no signature, certificate or timestamp checks), so virtual-alexa's unsigned requests
are accepted. The skill id *is* still checked: SKILL_ID is set to E2E_SKILL_ID and the runner
sends that id. Memory is off (CRAMP_STORE=none) so runs never touch ./data.

Binds 127.0.0.1 only, on a free port (``--port 0``), prints ``E2E_PORT <port>`` on stdout
(and writes the port to ``--port-file`` when given) once it accepts connections, then serves
with werkzeug's threaded WSGI server until SIGTERM/SIGINT. Flask's development server and
gunicorn are not used: the test needs a port chosen by the OS and a clean stop.

``--app standin`` serves a 15-line Flask app that hands the JSON body to
``cramp_coach.alexa.handle.handle_envelope`` instead (for when the web service is broken and you
want to tell the web layer's faults from the skill's).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
E2E_SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-0000000000e2"


def _environment() -> None:
    os.environ["CRAMP_STORE"] = "none"
    os.environ["SKILL_ID"] = E2E_SKILL_ID
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Alexa's Settings API only where test_e2e.py serves it on loopback (it sets this "on").
    os.environ.setdefault("CRAMP_SETTINGS_API", "off")
    lambda_dir = str(ROOT / "lambda")
    if lambda_dir not in sys.path:  # works without `pip install -e .` too
        sys.path.insert(0, lambda_dir)


def webservice_app() -> Any:
    from cramp_coach.hosting.webservice import create_app

    return create_app(verify=False, skill_id=E2E_SKILL_ID)


def standin_app() -> Any:
    from flask import Flask, jsonify, request

    from cramp_coach.alexa.handle import handle_envelope
    from cramp_coach.alexa.skill import build_skill

    skill = build_skill()
    app = Flask("cramp_coach_e2e_standin")

    @app.post("/")
    def endpoint() -> Any:
        return jsonify(handle_envelope(skill, request.get_json(force=True)))

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (default)")
    parser.add_argument("--port-file", help="also write the port number to this file")
    parser.add_argument("--app", choices=["webservice", "standin"], default="webservice")
    args = parser.parse_args(argv)

    _environment()
    from werkzeug.serving import make_server

    app = webservice_app() if args.app == "webservice" else standin_app()
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    port = server.server_port

    def _stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.port_file:
        Path(args.port_file).write_text(f"{port}\n", encoding="utf-8")
    print(f"E2E_PORT {port} app={args.app}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
