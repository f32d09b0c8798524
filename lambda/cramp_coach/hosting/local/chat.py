"""Terminal chat: type what you would say to Alexa, read what Alexa would say.

Every line goes through the interaction model (intent, slots, synonyms) into a real
request envelope and through the same skill the Lambda function runs. Scriptable:
pipe lines on stdin. Commands: `/wait SECONDS` moves the clock on, `/silence` lets the
session time out as Alexa does, `/quit` ends.
"""

from __future__ import annotations

import html
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.hosting.local.nlu import MODELS_DIR, InteractionModel, normalize
from cramp_coach.hosting.local.reminders_api import ShowingApiClient

_INVOKE = re.compile(
    r"^(?:alexa\s+)?(open|launch|start|ask|tell)\s+cramp coach(?:\s+(?:to|that|about)\b)?\s*(.*)$"
)


def render_ssml(ssml: str) -> str:
    """SSML as readable text: breaks become [pause N s], tags disappear."""

    def brk(match: re.Match[str]) -> str:
        value = match.group(1)
        seconds = float(value[:-2]) / 1000 if value.endswith("ms") else float(value.rstrip("s"))
        return f" [pause {seconds:g} s] "

    text = re.sub(r'<break time="([\d.]+m?s)"\s*/>', brk, ssml)
    text = re.sub(r"<[^>]+>", "", text)
    return " ".join(html.unescape(text).split())


class Chat:
    def __init__(
        self,
        skill: Any,
        model: InteractionModel | None = None,
        clock: Callable[[], float] = time.time,
        locale: str = "en-US",
        api: ShowingApiClient | None = None,
    ) -> None:
        self.skill = skill
        self.locale = locale
        self.api = api
        # Alexa's permission for reminders, granted or not in this chat, and a question
        # Alexa is asking about it (the token of a Connections.SendRequest AskFor).
        self.scopes: dict[str, str] = {}
        self.asking: str | None = None
        # The locale's own model; a locale without one (en-NZ, to hear the fallback) uses en-US's.
        self.model = model or InteractionModel.for_locale(
            locale if (MODELS_DIR / f"{locale}.json").is_file() else "en-US"
        )
        self.clock = clock
        self.offset = 0.0
        self.session = self._new_session()
        self.open = False

    def _new_session(self, user_id: str | None = None) -> Session:
        session = (
            Session(locale=self.locale) if user_id is None else Session(user_id, locale=self.locale)
        )
        session.api_access_token = "local-chat-api-token"
        session.scopes = self.scopes
        return session

    def now(self) -> float:
        return self.clock() + self.offset

    def _send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        response = handle_envelope(self.skill, envelope)
        self.session.absorb(response)
        self.open = not response.get("response", {}).get("shouldEndSession", True)
        return response

    def say(self, line: str) -> list[str]:
        """One line typed by the user -> the lines to print."""
        text = line.strip()
        if not text:
            return []
        if text.startswith("/"):
            return self._command(text)
        utterance = normalize(text)
        if self.asking is not None:
            return self._permission(utterance)
        invoked = _INVOKE.match(utterance)
        if invoked:
            self.session = self._new_session(self.session.user_id)
            if not invoked.group(2):
                return self._show(self._send(self.session.launch(self.now())), "LaunchRequest")
            utterance = invoked.group(2)
        elif not self.open:
            # Out of a session Alexa needs the invocation name; be kind and add it.
            self.session = self._new_session(self.session.user_id)
        resolution = self.model.resolve(utterance)
        envelope = self.session.intent(resolution.intent, self.now(), resolution.slots)
        label = resolution.intent + "".join(
            f" {name}={heard!r}->{value_id or 'NO_MATCH'}"
            for name, (heard, value_id) in resolution.slots.items()
        )
        return self._show(self._send(envelope), label)

    def _permission(self, utterance: str) -> list[str]:
        """The answer to Alexa's own permission question; the skill hears it as a
        Connections.Response, and a yes stays granted for the rest of the chat."""
        token, self.asking = self.asking or "", None
        words = set(utterance.split())
        yes = bool(words & {"yes", "yeah", "yep", "sure", "ok", "okay", "allow"})
        status = "ACCEPTED" if yes and "no" not in words else "DENIED"
        if status == "ACCEPTED":
            self.scopes["alexa::alerts:reminders:skill:readwrite"] = "GRANTED"
        self.session = self._new_session(self.session.user_id)
        envelope = self.session.connections_response(self.now(), status, token)
        return self._show(self._send(envelope), f"Connections.Response AskFor {status}")

    def _command(self, text: str) -> list[str]:
        name, _, arg = text.partition(" ")
        if name == "/wait":
            try:
                self.offset += float(arg)
            except ValueError:
                return ["(usage: /wait SECONDS)"]
            return [f"(clock moved on {float(arg):g} s)"]
        if name == "/silence":
            if not self.open:
                return ["(no session is open)"]
            self._send(self.session.session_ended(self.now()))
            self.open = False
            return ["(silence: Alexa closed the session)"]
        if name == "/forget":
            # The same as saying "delete my history" and "yes": everything, the lock included.
            self.session = self._new_session(self.session.user_id)
            self._send(self.session.intent("DeleteHistoryIntent", self.now(), {}))
            self._send(self.session.intent("AMAZON.YesIntent", self.now(), {}))
            return ["(history deleted: profile, routine, 12-hour warning and log)"]
        if name in ("/quit", "/exit"):
            raise EOFError
        return ["(commands: /wait SECONDS, /silence, /forget, /quit)"]

    def remembered_warning(self, store_factory: Callable[[], Any] | None = None) -> str | None:
        """A line saying a warning of the last 12 hours is remembered, or None (issue 21)."""
        from cramp_coach.memory import store_from_env, turn, user_key
        from cramp_coach.memory.load_save import Memory

        try:
            memory = Memory(store_factory or store_from_env)
            lock = memory.load(user_key(self.session.user_id), self.now()).lock
        except Exception:  # the chat starts either way
            return None
        finally:
            turn.end()
        if not lock:
            return None
        hours = max(0.0, (float(lock.get("at", 0)) + 12 * 3600 - self.now()) / 3600)
        return (
            f"(Remembered: a warning from the last 12 hours ({lock.get('flag')}, "
            f"{lock.get('level')}; about {hours:.1f} h left). A request for steps hears it "
            'again first. To forget it, say "delete my history", or type /forget.)'
        )

    def _show(self, response: dict[str, Any], label: str) -> list[str]:
        body = response.get("response", {})
        speech = body.get("outputSpeech", {}).get("ssml", "")
        lines = [f"  [{label}]", f"Alexa: {render_ssml(speech)}" if speech else "Alexa: (nothing)"]
        card = body.get("card")
        if card:
            lines.append(f"  card: {card.get('title')}: {card.get('content')}")
        if self.api is not None:
            lines += self.api.drain()
        for directive in body.get("directives") or []:
            if directive.get("type") == "Connections.SendRequest":
                self.asking = str(directive.get("token") or "")
                lines.append(
                    "  (Alexa asks for the reminders permission, in its own words: "
                    "answer yes or no)"
                )
        lines.append("  (session ended)" if body.get("shouldEndSession") else "  (listening...)")
        return lines


def run(
    skill: Any,
    lines: Iterable[str],
    out: TextIO,
    interactive: bool,
    locale: str = "en-US",
    store_factory: Callable[[], Any] | None = None,
    api: ShowingApiClient | None = None,
) -> int:
    chat = Chat(skill, locale=locale, api=api)
    if interactive:
        out.write(
            "Cramp Coach local chat. Say what you'd say to Alexa, e.g.\n"
            "  Alexa, tell cramp coach her calf is cramping\n"
            "Then: next, back, repeat, it's better, still cramping, it hurts, stop.\n"
            "Commands: /wait SECONDS, /silence, /forget, /quit\n\n"
        )
    remembered = chat.remembered_warning(store_factory)
    if remembered:
        # Said every time, scripted too: the lock survives restarts in data/.
        out.write(remembered + "\n\n")
    for line in lines:
        if not interactive:
            out.write(f"> {line.rstrip()}\n")
        try:
            for printed in chat.say(line):
                out.write(printed + "\n")
        except EOFError:
            break
        out.flush()
        if interactive:
            out.write("you> ")
            out.flush()
    if chat.open:
        # Leaving mid-session is Alexa's timeout: the skill gets its SessionEndedRequest,
        # so a routine stays resumable and its log entry is written.
        chat.say("/silence")
    return 0


def _interactive_lines() -> Iterable[str]:
    sys.stdout.write("you> ")
    sys.stdout.flush()
    yield from sys.stdin
