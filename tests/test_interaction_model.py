"""Lint for the Alexa interaction models (interaction_models/<locale>.json, every locale).

The model is the contract with Alexa: these tests keep it buildable in the ASK console / CLI and
free of ambiguity (the same phrase must never be able to land in two intents).
The expected names are hard-coded from docs/ARCHITECTURE.md on purpose: a change there must be
made here too.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.spec import RED_FLAGS, ROUTINE_MUSCLES, SUB_LEVEL_FLAGS

REPO_ROOT = Path(__file__).parents[1]
MODEL_PATHS = sorted((REPO_ROOT / "interaction_models").glob("*.json"))
MODEL_PATH = REPO_ROOT / "interaction_models" / "en-US.json"


@pytest.fixture(autouse=True, params=MODEL_PATHS, ids=[p.stem for p in MODEL_PATHS])
def _each_locale(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test of this module runs once per locale's model."""
    global MODEL_PATH
    saved, MODEL_PATH = MODEL_PATH, request.param
    yield
    MODEL_PATH = saved


# ---------------------------------------------------------------------------------------------
# Contract from docs/ARCHITECTURE.md
# ---------------------------------------------------------------------------------------------

CUSTOM_INTENT_SLOTS: dict[str, dict[str, str]] = {
    "CrampIntent": {"muscle": "MUSCLE", "helper": "HELPER", "side": "SIDE", "symptom": "SYMPTOM"},
    "ClarifyIntent": {"part": "BODY_PART"},
    "BetterIntent": {},
    "StillCrampingIntent": {},
    "HurtsIntent": {},
    "AloneIntent": {},
    "HelperIntent": {},
    "SkipIntent": {},
    "SymptomIntent": {"symptom": "SYMPTOM"},
    "DisclaimerIntent": {},
    "PreventionIntent": {},
    "CrampCountIntent": {},
    "DeleteHistoryIntent": {},
    "VoiceIntent": {"volume": "VOLUME"},
    "DoctorIntent": {},
    "EmergencyNumberIntent": {},
    "HoldTimeIntent": {},
    "DontKnowIntent": {},
    "LogOnIntent": {},
    "LogOffIntent": {},
    "HoldOnIntent": {},
    "OtherSideIntent": {},
    "HowToStopIntent": {},
    "WhyIntent": {},
    "AgainIntent": {},
    "HeatIceIntent": {},
    "PainkillerIntent": {},
    "BedtimeIntent": {},
    "ReminderIntent": {"time": "AMAZON.TIME"},
    "StopReminderIntent": {},
}

# Built-in slot types have no values in the model: what a listener says into them.
BUILTIN_SLOT_EXAMPLES: dict[str, tuple[str, ...]] = {
    "AMAZON.TIME": ("ten", "half ten", "ten thirty", "ten p.m.", "nine", "eleven", "midnight"),
}

BUILTIN_INTENTS: frozenset[str] = frozenset(
    {
        "AMAZON.HelpIntent",
        "AMAZON.StopIntent",
        "AMAZON.CancelIntent",
        "AMAZON.NavigateHomeIntent",
        "AMAZON.FallbackIntent",
        "AMAZON.YesIntent",
        "AMAZON.NoIntent",
        "AMAZON.NextIntent",
        "AMAZON.PreviousIntent",
        "AMAZON.RepeatIntent",
        "AMAZON.StartOverIntent",
        "AMAZON.PauseIntent",
        "AMAZON.ResumeIntent",
    }
)


VAGUE_MUSCLES: frozenset[str] = frozenset({"LEG", "THIGH", "FOOT", "KNEE"})
OUT_OF_SCOPE_MUSCLES: frozenset[str] = frozenset({"CHEST", "TRUNK", "FACE", "ALL_OVER"})


EXPECTED_TYPE_IDS: dict[str, frozenset[str]] = {
    "MUSCLE": frozenset(ROUTINE_MUSCLES) | VAGUE_MUSCLES | OUT_OF_SCOPE_MUSCLES,
    "HELPER": frozenset({"PARTNER", "ALONE"}),
    "SIDE": frozenset({"LEFT", "RIGHT"}),
    "BODY_PART": frozenset({"FRONT", "BACK", "TOP", "BELOW", "ABOVE"}),
    # PREGNANT, CHILD and INFANT change the routine (PROTOCOLS.md section 5); EXERCISE_HEAT is the
    # context ("after a run", "it's really hot in here") the heat red flags are read against.
    "SYMPTOM": (RED_FLAGS - SUB_LEVEL_FLAGS) | {"PREGNANT", "CHILD", "INFANT", "EXERCISE_HEAT"},
    "VOLUME": frozenset({"QUIET", "NORMAL"}),
}

MIN_ROUTINE_SYNONYMS = 8
MIN_CUSTOM_SAMPLES = 8
MIN_CRAMP_SAMPLES = 60
MAX_SAMPLE_CHARS = 200
# Samples whose slots multiply out to more phrases than this are checked by regex, not expanded.
MAX_EXPANSION = 20_000
# The only samples made of slots alone (each captures what its slot types hold, nothing else).
SLOT_ONLY_SAMPLES: frozenset[str] = frozenset(
    {
        "CrampIntent: {muscle}",
        "CrampIntent: {helper} {muscle}",
        "CrampIntent: {helper} {side} {muscle}",
        "CrampIntent: {side} {muscle}",
        "ClarifyIntent: {part}",
        "SymptomIntent: {symptom}",
    }
)

# Phrases Alexa (and virtual-alexa, used for end-to-end tests) already maps to a built-in intent
# without any sample in our model. A custom intent that reuses one makes the routing ambiguous.
IMPLICIT_BUILTIN_UTTERANCES: dict[str, frozenset[str]] = {
    "AMAZON.CancelIntent": frozenset({"cancel", "never mind"}),
    "AMAZON.HelpIntent": frozenset({"help", "help me"}),
    "AMAZON.NavigateHomeIntent": frozenset({"home", "go home"}),
    "AMAZON.NextIntent": frozenset({"next", "skip", "skip forward"}),
    "AMAZON.NoIntent": frozenset({"no", "no thanks"}),
    "AMAZON.PauseIntent": frozenset({"pause", "pause that"}),
    "AMAZON.PreviousIntent": frozenset({"go back", "previous", "skip back", "back up"}),
    "AMAZON.RepeatIntent": frozenset({"repeat", "say that again", "repeat that"}),
    "AMAZON.ResumeIntent": frozenset({"resume", "continue", "keep going"}),
    "AMAZON.StartOverIntent": frozenset({"start over", "restart", "start again"}),
    "AMAZON.StopIntent": frozenset({"stop", "off", "shut up"}),
    "AMAZON.YesIntent": frozenset({"yes", "yeah", "sure"}),
}
# Deliberate exceptions: (custom intent, phrase). Bare "skip" is the word people use for SkipIntent,
# so it stays; Alexa may still send it as AMAZON.NextIntent, so the core must treat a `next` during
# a step as safe to act on as a `skip`.
ALLOWED_BUILTIN_OVERLAPS: frozenset[tuple[str, str]] = frozenset({("SkipIntent", "skip")})

FORBIDDEN_INVOCATION_WORDS: frozenset[str] = frozenset(
    {
        "alexa",
        "echo",
        "computer",
        "skill",
        "app",
        "launch",
        "open",
        "tell",
        "ask",
        "start",
        "stop",
        "exit",
    }
)

SLOT_RE = re.compile(r"\{([^{}]*)\}")
# Letters, spaces, apostrophes; periods only inside abbreviations ("u. s.", "dr.").
SAMPLE_TEXT_RE = re.compile(r"^[A-Za-z' .]*$")
ABBREVIATION_PERIOD_RE = re.compile(r"(?<![A-Za-z])[A-Za-z]{1,3}\.(?=\s|$)")
SLOT_VALUE_RE = re.compile(r"^[a-z]+(?:'[a-z]+)*(?: [a-z]+(?:'[a-z]+)*)*$")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def load_model() -> dict[str, Any]:
    """The `languageModel` object of the current locale's model (see `_each_locale`)."""
    return _load_model(MODEL_PATH)


@cache
def _load_model(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        document: dict[str, Any] = json.load(fh)
    language_model: dict[str, Any] = document["interactionModel"]["languageModel"]
    return language_model


def intents() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = load_model()["intents"]
    return result


def intent_by_name(name: str) -> dict[str, Any]:
    for intent in intents():
        if intent["name"] == name:
            return intent
    raise AssertionError(f"intent {name} is missing from {MODEL_PATH.name}")


def slot_types() -> dict[str, list[dict[str, Any]]]:
    """Slot type name -> its values (each {"id", "name": {"value", "synonyms"}})."""
    return {t["name"]: t["values"] for t in load_model().get("types", [])}


def fold(text: str) -> str:
    """Case-insensitive, whitespace-folded form used to compare phrases."""
    return " ".join(text.lower().split())


def all_samples() -> Iterator[tuple[str, str]]:
    """(intent name, sample) for every sample of every intent."""
    for intent in intents():
        for sample in intent.get("samples", []):
            yield intent["name"], sample


def phrases_of(values: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(id, phrase) for every value and synonym of a slot type."""
    for value in values:
        name = value["name"]
        yield value.get("id", ""), name["value"]
        for synonym in name.get("synonyms", []):
            yield value.get("id", ""), synonym


def slot_phrases(type_name: str) -> list[str]:
    """Folded, de-duplicated phrases a slot of this type can be filled with (a built-in type:
    examples of what Alexa fills it with)."""
    if type_name in BUILTIN_SLOT_EXAMPLES:
        return sorted({fold(p) for p in BUILTIN_SLOT_EXAMPLES[type_name]})
    return sorted({fold(p) for _, p in phrases_of(slot_types()[type_name])})


def slot_type_of(intent_name: str, slot_name: str) -> str:
    for slot in intent_by_name(intent_name).get("slots", []):
        if slot["name"] == slot_name:
            slot_type: str = slot["type"]
            return slot_type
    raise AssertionError(f"{intent_name}: slot {{{slot_name}}} is not declared")


def fill_one_slot(intent_name: str, sample: str) -> Iterator[tuple[str, str]]:
    """For each slot of the sample: every phrase it can take, the other slots left as written."""
    folded = fold(sample)
    for slot_name in set(SLOT_RE.findall(folded)):
        for phrase in slot_phrases(slot_type_of(intent_name, slot_name)):
            yield slot_name, folded.replace("{" + slot_name + "}", phrase)


def expand_fully(intent_name: str, sample: str) -> Iterator[str]:
    """Every concrete phrase the sample can match (all slots filled)."""
    folded = fold(sample)
    names = list(dict.fromkeys(SLOT_RE.findall(folded)))
    choices = [slot_phrases(slot_type_of(intent_name, n)) for n in names]
    for combo in itertools.product(*choices):
        text = folded
        for name, phrase in zip(names, combo, strict=True):
            text = text.replace("{" + name + "}", phrase)
        yield text


# ---------------------------------------------------------------------------------------------
# Shape and names
# ---------------------------------------------------------------------------------------------


def test_model_is_valid_json_with_language_model() -> None:
    model = load_model()
    for key in ("invocationName", "intents", "types"):
        assert key in model, f"languageModel has no {key!r}"


def test_invocation_name_follows_alexa_rules() -> None:
    name: str = load_model()["invocationName"]
    assert name == name.lower(), f"invocation name {name!r} must be lower case"
    assert re.fullmatch(r"[a-z]+(?: [a-z]+)+", name), (
        f"invocation name {name!r} must be at least two words of letters only"
    )
    forbidden = set(name.split()) & FORBIDDEN_INVOCATION_WORDS
    assert not forbidden, f"invocation name {name!r} uses forbidden word(s) {sorted(forbidden)}"


def test_intents_are_exactly_the_documented_ones() -> None:
    names = [i["name"] for i in intents()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"intents declared twice: {duplicates}"
    expected = set(CUSTOM_INTENT_SLOTS) | BUILTIN_INTENTS
    assert not expected - set(names), f"missing intents: {sorted(expected - set(names))}"
    assert not set(names) - expected, (
        f"intents not in docs/ARCHITECTURE.md: {sorted(set(names) - expected)}"
    )


@pytest.mark.parametrize("intent_name", sorted(CUSTOM_INTENT_SLOTS))
def test_custom_intent_declares_documented_slots(intent_name: str) -> None:
    declared = {s["name"]: s["type"] for s in intent_by_name(intent_name).get("slots", [])}
    assert declared == CUSTOM_INTENT_SLOTS[intent_name], (
        f"{intent_name} slots are {declared}, ARCHITECTURE.md says "
        f"{CUSTOM_INTENT_SLOTS[intent_name]}"
    )


def test_builtin_intents_declare_no_slots() -> None:
    with_slots = [i["name"] for i in intents() if i["name"] in BUILTIN_INTENTS and i.get("slots")]
    assert not with_slots, f"built-in intents must not declare slots: {with_slots}"


def test_every_declared_slot_type_exists() -> None:
    types = slot_types()
    missing = [
        f"{intent['name']}.{slot['name']}: {slot['type']}"
        for intent in intents()
        for slot in intent.get("slots", [])
        if slot["type"] not in types and not slot["type"].startswith("AMAZON.")
    ]
    assert not missing, f"slots whose type is not defined in 'types': {missing}"


def test_every_slot_type_is_used() -> None:
    used = {slot["type"] for intent in intents() for slot in intent.get("slots", [])}
    unused = sorted(set(slot_types()) - used)
    assert not unused, f"slot types no intent uses (the ASK build rejects these): {unused}"


@pytest.mark.parametrize("type_name", sorted(EXPECTED_TYPE_IDS))
def test_slot_type_ids_match_architecture(type_name: str) -> None:
    types = slot_types()
    assert type_name in types, f"slot type {type_name} is missing"
    ids = [v.get("id") for v in types[type_name]]
    duplicates = sorted({i for i in ids if i and ids.count(i) > 1})
    assert not duplicates, f"{type_name}: ids used by more than one value: {duplicates}"
    actual = {i for i in ids if i}
    expected = EXPECTED_TYPE_IDS[type_name]
    assert actual == expected, (
        f"{type_name}: missing ids {sorted(expected - actual)}, "
        f"unexpected ids {sorted(actual - expected)}"
    )


# ---------------------------------------------------------------------------------------------
# Slot values
# ---------------------------------------------------------------------------------------------


def test_every_slot_value_has_an_id() -> None:
    missing = [
        f"{type_name}: {value['name']['value']!r}"
        for type_name, values in slot_types().items()
        for value in values
        if not value.get("id")
    ]
    assert not missing, f"slot values without an id: {missing}"


def test_slot_values_are_lower_case_words() -> None:
    bad = [
        f"{type_name}/{value_id}: {phrase!r}"
        for type_name, values in slot_types().items()
        for value_id, phrase in phrases_of(values)
        if not SLOT_VALUE_RE.fullmatch(phrase)
    ]
    assert not bad, (
        "slot values and synonyms must be lower-case words, single spaces, apostrophes only "
        f"inside words, no digits: {bad}"
    )


@pytest.mark.parametrize("type_name", sorted(EXPECTED_TYPE_IDS))
def test_slot_phrase_belongs_to_one_id_only(type_name: str) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    occurrences: dict[str, int] = defaultdict(int)
    for value_id, phrase in phrases_of(slot_types()[type_name]):
        owners[fold(phrase)].add(value_id)
        occurrences[fold(phrase)] += 1
    shared = {p: sorted(ids) for p, ids in owners.items() if len(ids) > 1}
    assert not shared, f"{type_name}: phrases listed under more than one id: {shared}"
    repeated = sorted(p for p, n in occurrences.items() if n > 1)
    assert not repeated, f"{type_name}: phrases listed twice under the same id: {repeated}"


@pytest.mark.parametrize("muscle_id", sorted(ROUTINE_MUSCLES))
def test_routine_muscle_has_enough_synonyms(muscle_id: str) -> None:
    (value,) = [v for v in slot_types()["MUSCLE"] if v["id"] == muscle_id]
    synonyms = value["name"].get("synonyms", [])
    assert len(synonyms) >= MIN_ROUTINE_SYNONYMS, (
        f"MUSCLE {muscle_id} has {len(synonyms)} synonyms, needs at least {MIN_ROUTINE_SYNONYMS}"
    )


@pytest.mark.parametrize(
    ("phrase", "expected_id"),
    [
        ("calf", "CALF"),
        ("charley horse", "CALF"),
        ("leg cramp", "CALF"),
        ("cramp in my leg", "CALF"),
        ("lower leg", "CALF"),
        ("leg", "LEG"),
        ("legs", "LEG"),
        ("whole leg", "LEG"),
        ("thigh", "THIGH"),
        ("upper leg", "THIGH"),
        ("foot", "FOOT"),
        ("arch", "FOOT_ARCH"),
        ("behind my knee", "KNEE"),
        ("back", "LOWER_BACK"),
        ("top of the foot", "SHIN"),
        ("writer's cramp", "HAND"),
        ("crick in my neck", "NECK"),
        ("ribs", "CHEST"),
        ("period cramps", "TRUNK"),
        ("jaw", "FACE"),
        ("whole body", "ALL_OVER"),
    ],
)
def test_muscle_phrase_resolves_as_protocols_say(phrase: str, expected_id: str) -> None:
    owners = {value_id for value_id, p in phrases_of(slot_types()["MUSCLE"]) if fold(p) == phrase}
    assert owners == {expected_id}, f"MUSCLE {phrase!r} resolves to {owners or 'nothing'}"


@pytest.mark.parametrize(
    ("phrase", "expected_id"),
    [
        ("can't breathe", "RF_PE"),
        ("chest pain", "RF_PE"),
        ("swollen", "RF_DVT"),
        ("dark urine", "RF_RHABDO"),
        ("baby", "RF_INFANT"),
        ("pregnant", "PREGNANT"),
        ("kid", "CHILD"),
        ("stiff neck and fever", "RF_MENING"),
        ("numb between the legs", "RF_CES"),
        ("new medicine", "RF_MED"),
        ("every night", "RF_FREQ"),
        ("won't stop", "RF_LONG"),
    ],
)
def test_symptom_phrase_resolves_to_red_flag(phrase: str, expected_id: str) -> None:
    owners = {value_id for value_id, p in phrases_of(slot_types()["SYMPTOM"]) if fold(p) == phrase}
    assert owners == {expected_id}, f"SYMPTOM {phrase!r} resolves to {owners or 'nothing'}"


def test_body_part_never_repeats_a_muscle_phrase() -> None:
    muscle = {fold(p): value_id for value_id, p in phrases_of(slot_types()["MUSCLE"])}
    clashes = [
        f"BODY_PART/{value_id} {phrase!r} is also MUSCLE/{muscle[fold(phrase)]}"
        for value_id, phrase in phrases_of(slot_types()["BODY_PART"])
        if fold(phrase) in muscle
    ]
    assert not clashes, f"BODY_PART values must never repeat a MUSCLE synonym: {clashes}"


def test_symptom_never_repeats_a_helper_phrase() -> None:
    helper = set(slot_phrases("HELPER"))
    clashes = sorted(set(slot_phrases("SYMPTOM")) & helper)
    assert not clashes, f"SYMPTOM phrases that are also HELPER phrases: {clashes}"


# ---------------------------------------------------------------------------------------------
# Sample utterances
# ---------------------------------------------------------------------------------------------


def test_samples_use_only_letters_spaces_and_apostrophes() -> None:
    bad = []
    for intent_name, sample in all_samples():
        text = SLOT_RE.sub("", sample)
        if not SAMPLE_TEXT_RE.fullmatch(text):
            bad.append(f"{intent_name}: {sample!r}")
        elif "." in text and len(ABBREVIATION_PERIOD_RE.findall(text)) != text.count("."):
            bad.append(f"{intent_name}: {sample!r} (period outside an abbreviation)")
    assert not bad, f"samples with digits or punctuation other than apostrophes: {bad}"


def test_samples_are_not_too_long_or_empty() -> None:
    bad = [
        f"{name}: {sample!r} ({len(sample)} chars)"
        for name, sample in all_samples()
        if not sample.strip() or len(sample) > MAX_SAMPLE_CHARS
    ]
    assert not bad, f"samples empty or over {MAX_SAMPLE_CHARS} characters: {bad}"


def test_samples_have_tidy_whitespace() -> None:
    bad = [
        f"{name}: {sample!r}"
        for name, sample in all_samples()
        if sample != " ".join(sample.split())
    ]
    assert not bad, f"samples with leading, trailing or double spaces: {bad}"


def test_slots_are_whole_words() -> None:
    bad = []
    for name, sample in all_samples():
        for match in re.finditer(r"\{[^}]*\}?|\}", sample):
            start, end = match.span()
            token = match.group()
            well_formed = re.fullmatch(r"\{[A-Za-z_][A-Za-z0-9_]*\}", token) is not None
            before_ok = start == 0 or sample[start - 1] == " "
            after_ok = end == len(sample) or sample[end] == " "
            if not (well_formed and before_ok and after_ok):
                bad.append(f"{name}: {sample!r} ({token!r})")
    assert not bad, f"slots must be {{name}} surrounded by spaces or the sample's ends: {bad}"


def test_every_slot_in_a_sample_is_declared_and_used_once() -> None:
    bad = []
    for intent in intents():
        declared = {s["name"] for s in intent.get("slots", [])}
        for sample in intent.get("samples", []):
            used = SLOT_RE.findall(sample)
            undeclared = sorted(set(used) - declared)
            if undeclared:
                bad.append(f"{intent['name']}: {sample!r} uses undeclared {undeclared}")
            repeated = sorted({s for s in used if used.count(s) > 1})
            if repeated:
                bad.append(f"{intent['name']}: {sample!r} repeats slot(s) {repeated}")
    assert not bad, "; ".join(bad)


def test_every_declared_slot_appears_in_some_sample() -> None:
    bad = []
    for intent in intents():
        used = {s for sample in intent.get("samples", []) for s in SLOT_RE.findall(sample)}
        bad += [
            f"{intent['name']}.{s['name']}"
            for s in intent.get("slots", [])
            if s["name"] not in used
        ]
    assert not bad, f"declared slots no sample fills (Alexa could never send them): {bad}"


def test_builtin_samples_have_no_slots() -> None:
    bad = [f"{n}: {s!r}" for n, s in all_samples() if n in BUILTIN_INTENTS and SLOT_RE.search(s)]
    assert not bad, f"built-in intents cannot have slots in samples: {bad}"


def test_no_duplicate_sample_within_an_intent() -> None:
    bad = []
    for intent in intents():
        folded = [fold(s) for s in intent.get("samples", [])]
        bad += [
            f"{intent['name']}: {s!r}" for s in sorted({s for s in folded if folded.count(s) > 1})
        ]
    assert not bad, f"samples listed twice in the same intent: {bad}"


def test_no_sample_in_two_intents() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for name, sample in all_samples():
        owners[fold(sample)].add(name)
    shared = {s: sorted(names) for s, names in owners.items() if len(names) > 1}
    assert not shared, f"samples shared by several intents: {shared}"


def test_filling_one_slot_never_yields_another_intents_sample() -> None:
    literal: dict[str, set[str]] = defaultdict(set)
    for name, sample in all_samples():
        literal[fold(sample)].add(name)
    # A filled sample can only equal a sample that starts with the words before the slot and
    # ends with the words after it: look those up by their first (or last) word, not every one.
    by_first: dict[str, list[str]] = defaultdict(list)
    by_last: dict[str, list[str]] = defaultdict(list)
    for text in literal:
        by_first[text.split()[0]].append(text)
        by_last[text.split()[-1]].append(text)
    clashes = []
    phrases_of_type: dict[str, set[str]] = {}
    for name, sample in all_samples():
        folded = fold(sample)
        for slot_name in set(SLOT_RE.findall(folded)):
            type_name = slot_type_of(name, slot_name)
            if type_name not in phrases_of_type:
                phrases_of_type[type_name] = set(slot_phrases(type_name))
            phrases = phrases_of_type[type_name]
            head, _, tail = folded.partition("{" + slot_name + "}")
            if head:
                candidates = by_first[head.split()[0]]
            elif tail:
                candidates = by_last[tail.split()[-1]]
            else:
                candidates = list(literal)
            for text in candidates:
                if len(text) <= len(head) + len(tail):
                    continue
                if not (text.startswith(head) and text.endswith(tail)):
                    continue
                if text[len(head) : len(text) - len(tail)] not in phrases:
                    continue
                others = sorted(literal[text] - {name})
                if others:
                    clashes.append(f"{name} {sample!r} with {{{slot_name}}} -> {text!r} = {others}")
    assert not clashes, "ambiguous samples: " + "; ".join(sorted(set(clashes)))


def _expansion_size(intent_name: str, sample: str) -> int:
    names = dict.fromkeys(SLOT_RE.findall(fold(sample)))
    return math.prod(len(slot_phrases(slot_type_of(intent_name, n))) for n in names)


@cache
def _slot_alternatives(type_name: str) -> str:
    phrases = sorted(slot_phrases(type_name), key=len, reverse=True)
    return "(?:" + "|".join(re.escape(p) for p in phrases) + ")"


def sample_regex(intent_name: str, sample: str) -> re.Pattern[str]:
    """The sample as a regex over folded text: each slot is the alternation of its phrases."""
    parts = []
    for token in fold(sample).split():
        slot = re.fullmatch(r"\{(\w+)\}", token)
        if slot:
            parts.append(_slot_alternatives(slot_type_of(intent_name, slot.group(1))))
        else:
            parts.append(re.escape(token))
    return re.compile(" ".join(parts))


def test_sample_regex_matches_what_expansion_yields() -> None:
    sample = "{muscle} is cramping and {symptom}"
    pattern = sample_regex("CrampIntent", sample)
    assert pattern.fullmatch("her calf is cramping and can't breathe")
    assert not pattern.fullmatch("her calf is cramping and fine")
    assert not pattern.fullmatch("calf is cramping")


# A position in a sample: (the tokens still to say, a node of the slot's word trie or _AT_TOKEN).
# A slot token is a one-tuple (type name,); a literal token is its word.
_AT_TOKEN = -1
_State = tuple[tuple[Any, ...], int]


@cache
def _trie(path: Path, type_name: str) -> tuple[list[dict[str, int]], frozenset[int]]:
    """The slot type's phrases as a word trie: children per node, and the nodes ending one."""
    assert path == MODEL_PATH  # keyed by locale: the same type differs between locales
    children: list[dict[str, int]] = [{}]
    ends = set()
    for phrase in slot_phrases(type_name):
        node = 0
        for word in phrase.split():
            if word not in children[node]:
                children[node][word] = len(children)
                children.append({})
            node = children[node][word]
        ends.add(node)
    return children, frozenset(ends)


def _close(states: set[_State]) -> frozenset[_State]:
    """The states reachable without a word: entering a slot, or leaving it after a phrase."""
    out: set[_State] = set()
    stack = list(states)
    while stack:
        state = stack.pop()
        if state in out:
            continue
        out.add(state)
        rest, node = state
        if node == _AT_TOKEN and rest and isinstance(rest[0], tuple):
            stack.append((rest, 0))
        elif node != _AT_TOKEN and node in _trie(MODEL_PATH, rest[0][0])[1]:
            stack.append((rest[1:], _AT_TOKEN))
    return frozenset(out)


def _moves(states: frozenset[_State]) -> dict[str, set[_State]]:
    """Next word -> the states it leads to."""
    out: dict[str, set[_State]] = defaultdict(set)
    for rest, node in states:
        if node == _AT_TOKEN:
            if rest and isinstance(rest[0], str):
                out[rest[0]].add((rest[1:], _AT_TOKEN))
        else:
            for word, child in _trie(MODEL_PATH, rest[0][0])[0][node].items():
                out[word].add((rest, child))
    return out


def _tokens(intent_name: str, sample: str) -> tuple[Any, ...]:
    return tuple(
        (slot_type_of(intent_name, m.group(1)),) if (m := SLOT_RE.fullmatch(w)) else w
        for w in fold(sample).split()
    )


def test_no_spoken_phrase_can_match_two_intents() -> None:
    """Stronger: no phrase any sample can match (every slot filled with every phrase of its
    type) can be matched by a sample of another intent.

    Exact, without listing the phrases (a muscle slot alone holds thousands): every intent's
    samples are one automaton over words, slots as word tries, and the automata are walked
    together, word by word, along the prefixes at least two intents share. A phrase two
    intents both accept is a clash.
    """
    by_intent: dict[str, set[_State]] = defaultdict(set)
    for name, sample in all_samples():
        by_intent[name].add((_tokens(name, sample), _AT_TOKEN))
    start = {name: _close(states) for name, states in by_intent.items()}
    clashes: dict[str, list[str]] = {}
    seen: set[frozenset[tuple[str, frozenset[_State]]]] = set()
    stack: list[tuple[tuple[str, ...], dict[str, frozenset[_State]]]] = [((), start)]
    while stack:
        path, alive = stack.pop()
        key = frozenset(alive.items())
        if key in seen:
            continue
        seen.add(key)
        done = sorted(n for n, states in alive.items() if ((), _AT_TOKEN) in states)
        if len(done) > 1:
            clashes[" ".join(path)] = done
        moves = {name: _moves(states) for name, states in alive.items()}
        words: dict[str, int] = defaultdict(int)
        for by_word in moves.values():
            for word in by_word:
                words[word] += 1
        for word, count in words.items():
            if count > 1:
                after = {n: _close(m[word]) for n, m in moves.items() if word in m}
                stack.append(((*path, word), after))
    report = [f"{phrase!r} <- {', '.join(names)}" for phrase, names in sorted(clashes.items())[:25]]
    assert not clashes, f"{len(clashes)} phrases match more than one intent, e.g.: " + "; ".join(
        report
    )


def test_slot_only_samples_are_the_known_few() -> None:
    """A sample of nothing but slots captures whatever fills them: only these few, no new ones.

    In particular no slot-only sample holds a symptom beside another slot: a sentence must say
    more than two slot values in a row to be read as a muscle and a symptom.
    """
    slot_only = {
        f"{name}: {fold(sample)}"
        for name, sample in all_samples()
        if SLOT_RE.search(sample) and not SLOT_RE.sub("", sample).strip()
    }
    assert slot_only <= SLOT_ONLY_SAMPLES, (
        f"slot-only samples not in the allowed list: {sorted(slot_only - SLOT_ONLY_SAMPLES)}"
    )


def test_custom_samples_avoid_implicit_builtin_phrases() -> None:
    clashes = [
        f"{name} {sample!r} is built into {builtin}"
        for name, sample in all_samples()
        if name in CUSTOM_INTENT_SLOTS
        for builtin, phrases in IMPLICIT_BUILTIN_UTTERANCES.items()
        if fold(sample) in phrases and (name, fold(sample)) not in ALLOWED_BUILTIN_OVERLAPS
    ]
    assert not clashes, f"custom samples that a built-in intent already owns: {clashes}"


def test_builtin_extensions_avoid_other_builtins_phrases() -> None:
    clashes = [
        f"{name} {sample!r} is built into {builtin}"
        for name, sample in all_samples()
        if name in BUILTIN_INTENTS
        for builtin, phrases in IMPLICIT_BUILTIN_UTTERANCES.items()
        if builtin != name and fold(sample) in phrases
    ]
    assert not clashes, f"extra samples that another built-in intent already owns: {clashes}"


@pytest.mark.parametrize("intent_name", sorted(CUSTOM_INTENT_SLOTS))
def test_custom_intent_has_enough_samples(intent_name: str) -> None:
    count = len(intent_by_name(intent_name).get("samples", []))
    minimum = MIN_CRAMP_SAMPLES if intent_name == "CrampIntent" else MIN_CUSTOM_SAMPLES
    assert count >= minimum, f"{intent_name} has {count} samples, needs at least {minimum}"


@pytest.mark.parametrize(
    "sample",
    [
        "{helper} {muscle} is cramping",
        "{helper} {muscle} is cramping up",
        "{helper} {side} {muscle} is cramping",
        "{muscle} in {helper} {side} leg",
        "the {muscle} of {helper} foot is cramping",
        "{helper} {muscle} is locked",
        "{helper} got a {muscle} cramp",
        "{muscle}",
        "it's {helper} {muscle}",
    ],
)
def test_cramp_intent_covers_one_shot_forms(sample: str) -> None:
    samples = {fold(s) for s in intent_by_name("CrampIntent")["samples"]}
    assert fold(sample) in samples, f"CrampIntent lacks the one-shot form {sample!r}"


def test_resume_intent_understands_continue_phrases() -> None:
    samples = {fold(s) for s in intent_by_name("AMAZON.ResumeIntent")["samples"]}
    missing = sorted({"continue", "keep going", "carry on"} - samples)
    assert not missing, f"AMAZON.ResumeIntent lacks {missing}"


def test_symptom_slot_never_sits_next_to_another_slot() -> None:
    """A muscle and a symptom in one sample always have words between them.

    virtual-core turns each slot into a greedy (.*): two adjacent slots never split under stock
    virtual-alexa, and a symptom swallowed into the muscle slot would start the steps.
    """
    adjacent = [
        f"{name}: {sample!r}"
        for name, sample in all_samples()
        if re.search(r"\{symptom\} \{|\} \{symptom\}", sample)
    ]
    assert not adjacent, adjacent


@pytest.mark.parametrize(
    ("intent_name", "phrase"),
    [
        ("CrampIntent", "{muscle} is cramping and it's {symptom}"),
        ("CrampIntent", "{muscle} has been cramping for {symptom}"),
        ("CrampIntent", "I'm {symptom} and {muscle} is cramping"),
        ("CrampIntent", "he's got cramp in {muscle} and {symptom}"),
        ("CrampIntent", "actually it's {muscle}"),
        ("CrampIntent", "wait no the {muscle}"),
        ("CrampIntent", "now it's moved to {muscle}"),
        ("CrampIntent", "no it's {muscle}"),
        ("CrampIntent", "how do I get rid of a {muscle} cramp"),
        ("CrampIntent", "how do I stop a {muscle}"),
        ("CrampIntent", "I've got a cramp in {muscle}"),
        ("SymptomIntent", "{symptom} leg keeps stiffening"),
        ("DoctorIntent", "when should I see a doctor"),
        ("EmergencyNumberIntent", "what number do I call"),
        ("HoldTimeIntent", "how long do I hold it"),
        ("DontKnowIntent", "I don't know"),
        ("LogOnIntent", "start keeping a log"),
        ("LogOffIntent", "stop keeping a log"),
        ("PreventionIntent", "how can I stop getting these cramps"),
        ("DisclaimerIntent", "is this medical advice"),
        ("AloneIntent", "there's nobody with me"),
        ("HelperIntent", "he's awake now and helping"),
        ("HoldOnIntent", "hang on a sec"),  # issue 22: waits, the session open
        ("AMAZON.PreviousIntent", "can you go back a step"),
    ],
)
def test_intent_carries_the_issue_12_shape(intent_name: str, phrase: str) -> None:
    samples = {fold(s) for s in intent_by_name(intent_name)["samples"]}
    assert fold(phrase) in samples, f"{intent_name} lacks {phrase!r}"
