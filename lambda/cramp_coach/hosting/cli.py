"""Command line: `cramp-coach chat` (try the skill in a terminal) and `cramp-coach serve`."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def _chat(args: argparse.Namespace) -> int:
    from cramp_coach.alexa.skill import build_skill
    from cramp_coach.hosting.local.chat import _interactive_lines, run
    from cramp_coach.hosting.local.reminders_api import ShowingApiClient

    if args.store:
        os.environ["CRAMP_STORE"] = args.store
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Nothing leaves the machine: no Settings API call (CRAMP_DEVICE_TIME_ZONE=<zone> plays
    # another country), and reminders are shown as they would be sent.
    os.environ.setdefault("CRAMP_SETTINGS_API", "off")
    api = ShowingApiClient()  # reminders: shown as they would be sent, nothing leaves
    skill = build_skill(api_client=api)
    if args.script:
        with open(args.script, encoding="utf-8") as handle:
            script = list(handle)
        return run(skill, script, sys.stdout, interactive=False, locale=args.locale, api=api)
    interactive = sys.stdin.isatty()
    lines = _interactive_lines() if interactive else sys.stdin
    return run(skill, lines, sys.stdout, interactive=interactive, locale=args.locale, api=api)


def _serve(args: argparse.Namespace) -> int:
    from cramp_coach.hosting.serve import serve

    if args.workers is not None:  # the gunicorn-era flag: one process with threads now
        print(
            "cramp-coach serve: --workers is ignored: waitress serves from one process "
            "with --threads",
            file=sys.stderr,
        )
    # Only what was given: serve()'s defaults are the one source of the others.
    given = {
        "threads": args.threads,
        "connection_limit": args.connection_limit,
        "channel_timeout": args.idle_timeout,
    }
    serve(
        args.host,
        args.port,
        verify=not args.no_verify_signatures_for_local_testing,
        **{key: value for key, value in given.items() if value is not None},
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cramp-coach", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="talk to the skill in the terminal (no AWS needed)")
    chat.add_argument("--script", help="a file of lines to say, one per line")
    chat.add_argument(
        "--store",
        choices=["sqlite", "none"],
        help="where to remember things (default: sqlite file under ./data)",
    )
    chat.add_argument(
        "--locale",
        default="en-US",
        help="the request locale, e.g. en-GB (its interaction model and content; default en-US)",
    )
    chat.set_defaults(func=_chat)

    serve = sub.add_parser(
        "serve",
        help="serve the skill as an HTTPS endpoint's backend (waitress; put a TLS proxy in front)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--threads",
        type=int,
        help="threads running the skill (default 4); slow clients hold none of them",
    )
    serve.add_argument(
        "--connection-limit",
        type=int,
        help="open connections at most (default 1000, kept below the file limit)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=int,
        help="close a connection silent this many seconds: idle keep-alive, stalled headers "
        "or body (default 20)",
    )
    serve.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument(
        "--no-verify-signatures-for-local-testing",
        action="store_true",
        help="accept unsigned requests (never on a public endpoint)",
    )
    serve.set_defaults(func=_serve)

    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
