"""The symptom model (content/<locale>/symptoms.json) read as people talk at night.

Each case is a sentence, what it must raise, and what it must not: the red flags of
PROTOCOLS.md section 4, their combinations, denials, durations, ages and locale words.
"""

from __future__ import annotations

import copy
import json

import pytest

from cramp_coach.content import CONTENT_DIR, ContentError, load_content
from cramp_coach.content.symptoms import parse_symptom_model
from cramp_coach.core.safety import read_words
from cramp_coach.core.symptom_reading import muscle_in_words

# (sentence, muscle or None, red flags expected in order of seriousness (first = primary))
RAISES = [
    ("her calf is way fatter and redder than the other one", None, "RF_DVT"),
    ("it's gone all puffy and warm", "CALF", "RF_DVT"),
    ("his shin is tight and swollen and really painful after football", None, "RF_SWELL"),
    ("her calf is swollen and agony", None, "RF_SWELL"),
    ("his foot has gone pale and cold", None, "RF_ISCH"),
    ("her leg's gone all mottled", None, "RF_ISCH"),
    ("I felt a pop at the back of my ankle", None, "RF_TEAR"),
    ("like someone kicked me in the calf", None, "RF_TEAR"),
    ("he was out in the sun all day and now he's really muddled and hot", None, "RF_HEAT"),
    ("after the marathon his wee is the colour of tea", None, "RF_RHABDO"),
    ("she's coughing up blood", None, "RF_PE"),
    ("yes she's a bit breathless", None, "RF_PE"),
    ("no, she's breathless", None, "RF_PE"),
    ("she's having chest pain", "CALF", "RF_PE"),
    ("I've got chest pain", "HAND", "RF_CHEST"),
    ("my words are coming out slurred", None, "RF_STROKE"),
    ("he can't lift his arm", None, "RF_STROKE"),
    ("she's confused and not making sense", None, "RF_STROKE"),
    ("stiff neck and a fever", None, "RF_MENING"),
    ("she has a stiff neck and hates the light", None, "RF_MENING"),
    ("a fever", "NECK", "RF_MENING"),
    ("she's been cramping for twenty minutes", None, "RF_LONG"),
    ("for half an hour now", None, "RF_LONG"),
    ("it's the bub, his little leg's twitching", None, "RF_INFANT"),  # en-NZ hears the base
    ("the toddler's leg keeps jerking", None, "RF_INFANT"),
    ("our two year old's calf", None, "RF_INFANT"),
    ("my baby is floppy", None, "RF_INFANT"),
    ("both his legs have gone weak", None, "RF_CES"),
    ("can't feel my bum", None, "RF_CES"),
    ("fell and hurt my back", "LOWER_BACK", "RF_BACK_INJURY"),
    ("back pain with a fever", "LOWER_BACK", "RF_BACK"),
    ("numbness getting worse", None, "RF_NEURO_WORSE"),
    ("pins and needles in my foot", None, "RF_NEURO"),
    ("she's pregnant and has a bad headache", None, "RF_PREG_PE"),
    ("stepped on a rusty nail", None, "RF_TOXIN"),
    ("a dog bit her leg yesterday", None, "RF_TOXIN"),
    ("my son can't stand up", None, "RF_CHILD_WEAK"),
    ("our daughter is limping with a fever", None, "RF_CHILD"),
    ("since I started a new blood pressure pill", None, "RF_MED"),
    ("tingling around her mouth", None, "RF_HAND"),
    # The everyday words for a hard cramp are "tight" too: with swelling it is RF-SWELL.
    ("her calf's like a rock and swollen", None, "RF_SWELL"),
    ("swollen and hard as a stone", "CALF", "RF_SWELL"),
    ("cramping mate and it's swollen and hard like a stone", "CALF", "RF_SWELL"),
    ("it's really hot to the touch", "CALF", "RF_DVT"),
    ("her calf is like a rock and red", None, "RF_DVT"),
    ("stepped on a nail near my toe nail", None, "RF_TOXIN"),
]

# Benign words that must raise nothing that stops the steps.
BENIGN = [
    ("my babe's calf is cramping", None),
    ("cramp in my toe near the toe nail", None),
    ("I was painting my nails with nail polish", None),
    ("she has a cramp in her calf and it won't stop", None),
    ("it's been going for ages", None),
    ("it comes back every ten minutes", None),
    ("for five minutes", None),
    ("neck cramp and a bit of a headache", "NECK"),
    ("my 70 year old husband's calf", None),
    ("my wife's calf is not swollen or red", None),
    ("she isn't breathless", None),
    ("no chest pain", None),
    ("she's breathing fine", None),
    ("put a hot water bottle on it", None),
    ("it's so hot in here", None),
    ("I can't fall asleep", "LOWER_BACK"),
    ("period cramps", None),
    # Ordinary cramps in everyday words, and the names people call each other.
    ("it's gone hard as a rock", "CALF"),
    ("tight like a stone", "CALF"),
    ("all knotted up love", "CALF"),
    ("cramping mate", None),
    ("paining yaar", None),
    ("cramp near my big toenail", "TOES"),
    ("seized up buddy", None),
    ("hun, it's like a stone", None),
]


@pytest.fixture(scope="module")
def us() -> object:
    return load_content("en-US")


@pytest.mark.parametrize(("sentence", "muscle", "primary"), RAISES)
def test_everyday_words_reach_their_red_flag(
    sentence: str, muscle: str | None, primary: str | None
) -> None:
    finding = read_words((sentence,), load_content("en-US"), muscle, set())
    if primary is None:
        assert not finding.red_flags, finding
    else:
        assert finding.red_flags[:1] == (primary,), finding


@pytest.mark.parametrize(("sentence", "muscle"), BENIGN)
def test_benign_words_stop_nothing(sentence: str, muscle: str | None) -> None:
    content = load_content("en-US")
    finding = read_words((sentence,), content, muscle, set())
    stopping = [f for f in finding.red_flags if content.red_flags[f].stops_routine]
    assert not stopping, (sentence, finding)
    assert not finding.ask_baby


def test_denials_are_clear_noes_and_doubts_are_not() -> None:
    content = load_content("en-US")
    answer = lambda s: read_words((s,), content, None, set()).answer  # noqa: E731
    for no in ("no", "nope", "no chest pain", "she isn't breathless", "it's not swollen or red"):
        assert answer(no) == "no", no
    for unsure in ("maybe", "not sure", "I think so", "a bit", "I don't know"):
        assert answer(unsure) == "unsure", unsure
    assert answer("yeah") == "yes"
    assert answer("she has a cramp") is None  # not an answer: only a yes word opens one


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "en-AU", "en-CA", "en-IN"])
def test_an_address_word_before_an_answer_keeps_it_an_answer(locale: str) -> None:
    """ "mate, no" is a clear no: unclear twice would raise the precaution flag (4.1)."""
    content = load_content(locale)
    answer = lambda s: read_words((s,), content, None, set()).answer  # noqa: E731
    for no in ("mate, no", "no mate", "nah love", "hun, no", "yaar no", "buddy nope", "no bhai"):
        assert answer(no) == "no", (locale, no)
    for yes in ("mate, yes", "yeah love", "yaar yes", "hun yes she is"):
        assert answer(yes) == "yes", (locale, yes)
    # The address word never hides what follows it.
    assert "RF_PE" in read_words(("mate, she's breathless",), content, None, set()).red_flags


@pytest.mark.parametrize(
    ("words", "muscle"),
    [
        ("cramp near the toe nail", "TOES"),
        ("cramp by her big toenail", "TOES"),
        ("my baby toe", "TOES"),
        # A toe nail or a baby toe names the toes only when nothing else is named.
        ("I was cutting my toenails and now my calf", "CALF"),
        ("mate, my calf", "CALF"),
        ("nail polish", None),
        ("her calf and her hamstring", None),
    ],
)
def test_the_words_name_one_muscle(words: str, muscle: str | None) -> None:
    assert muscle_in_words((words,), load_content("en-GB")) == muscle


def test_a_denial_heard_in_its_own_slot_denies_the_others() -> None:
    content = load_content("en-US")
    finding = read_words(("not", "red or swollen"), content, "CALF", set())
    assert not finding.red_flags and finding.answer == "no"


def test_my_baby_asks_and_the_session_flags_count() -> None:
    content = load_content("en-US")
    assert read_words(("my baby's calf is cramping",), content, None, set()).ask_baby
    pregnant = read_words(("her leg is swollen",), content, "CALF", {"PREGNANT"})
    assert "RF_PREG" in pregnant.red_flags
    heat = read_words(("he feels faint",), content, None, {"EXERCISE_HEAT"})
    assert heat.red_flags[:1] == ("RF_HEAT",)


def test_vague_persistence_is_still_cramping_and_a_neck_headache_a_note() -> None:
    content = load_content("en-US")
    assert read_words(("it won't stop",), content, None, set()).still
    note = read_words(("and a headache",), content, "NECK", set())
    assert note.notes == ("mening_headache_note",) and not note.red_flags
    assert read_words(("period pains",), content, None, set()).declines


@pytest.mark.parametrize(
    ("locale", "sentence", "flag"),
    [
        ("en-AU", "it's the bub, his little leg's twitching", "RF_INFANT"),
        ("en-AU", "our bubba's leg is stiff", "RF_INFANT"),
        ("en-GB", "the wee one's leg keeps twitching", "RF_INFANT"),
        ("en-IN", "she has loose motions and cramps", "RF_FLUID"),
    ],
)
def test_locale_words(locale: str, sentence: str, flag: str) -> None:
    assert flag in read_words((sentence,), load_content(locale), None, set()).red_flags


def test_every_locale_keeps_every_base_word() -> None:
    base = dict(load_content("en").symptoms.concepts)
    for locale in ("en-US", "en-GB", "en-AU", "en-CA", "en-IN"):
        words = dict(load_content(locale).symptoms.concepts)
        for concept, terms in base.items():
            assert set(terms) <= set(words[concept]), (locale, concept)


def _base() -> dict[str, object]:
    data: dict[str, object] = json.loads((CONTENT_DIR / "en" / "symptoms.json").read_text())
    return data


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda d: d["rules"].append({"then": "RF_NOPE", "any": ["BREATH"], "why": "x"}),
            "unknown outcome",
        ),
        (
            lambda d: d["rules"].append({"then": "RF_PE", "any": ["NOPE"], "why": "x"}),
            "unknown concept",
        ),
        (lambda d: d["concepts"]["BREATH"].append("Short Of Breath"), "lower case"),
        (
            lambda d: d["rules"].append(
                {"then": "NOTE:no_such_phrase", "any": ["BREATH"], "why": "x"}
            ),
            "no phrase",
        ),
    ],
)
def test_a_broken_model_is_refused_with_its_place(breakage: object, message: str) -> None:
    content = load_content("en-US")
    data = copy.deepcopy(_base())
    breakage(data)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        parse_symptom_model(
            data, None, "en/symptoms.json", content.red_flags, content.muscles, content.phrases
        )


def test_a_locale_can_only_add_words() -> None:
    content = load_content("en-US")
    with pytest.raises(ValueError, match="unknown"):
        parse_symptom_model(
            _base(), {"remove": {"BREATH": ["breath*"]}}, "en-XX/symptoms.json",
            content.red_flags, content.muscles, content.phrases,
        )  # fmt: skip
    with pytest.raises(ValueError, match="unknown"):
        parse_symptom_model(
            _base(), {"add": {"NEW_IDEA": ["x"]}}, "en-XX/symptoms.json",
            content.red_flags, content.muscles, content.phrases,
        )  # fmt: skip
    assert ContentError  # the loader wraps these as ContentError, naming the file


LOCALES = ("en-US", "en-GB", "en-AU", "en-CA", "en-IN")


@pytest.mark.parametrize("locale", LOCALES)
def test_no_symptom_synonym_is_silently_lowered(locale: str) -> None:
    """Every SYMPTOM synonym of the interaction model, said as Alexa delivers it (its words and
    its resolved id), reaches its red flag or a more serious one, or one of the readings the
    revised spec gives instead: still cramping, a note, an out-of-scope answer, the baby
    question, the blood-supply question, or the safety question. Never silently nothing."""
    from cramp_coach.core.model import Event
    from cramp_coach.core.safety import detect, severity

    content = load_content(locale)
    model = json.loads(
        (CONTENT_DIR.parents[2] / "interaction_models" / f"{locale}.json").read_text()
    )
    types = {t["name"]: t for t in model["interactionModel"]["languageModel"]["types"]}
    lowered = []
    for value in types["SYMPTOM"]["values"]:
        wanted = "RF_INFANT" if value["id"] == "INFANT" else value["id"]
        for words in [value["name"]["value"], *value["name"].get("synonyms", [])]:
            event = Event("symptom", 0.0, symptom=value["id"], heard=(words,))
            f = detect(event, content, None, set())
            if wanted in f.red_flags or wanted in f.flags:
                continue
            if wanted in content.red_flags and any(
                severity(r, content) <= severity(wanted, content) for r in f.red_flags
            ):
                continue
            if f.still or f.notes or f.declines or f.ask_baby or f.ask_blood or f.unsure:
                continue
            lowered.append((value["id"], words, f.red_flags, f.flags))
    assert not lowered, lowered[:10]


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "en-IN"])
def test_only_rules_that_cannot_hold_are_skipped(locale: str) -> None:
    """rules_for tries only the rules naming a present concept: it must leave out no rule that
    holds, for each concept alone, each pair, and the concepts of every rule together."""
    from cramp_coach.core.symptom_reading import rules_for

    model = load_content(locale).symptoms
    concepts = sorted({c for rule in model.rules for c in (*rule.all, *rule.any, *rule.also)})
    cases = [frozenset(), *(frozenset([c]) for c in concepts)]
    cases += [frozenset([a, b]) for i, a in enumerate(concepts) for b in concepts[i + 1 :]]
    cases += [frozenset((*r.all, *r.any[:1], *r.also[:1])) for r in model.rules]
    for present in cases:
        every = [r.then for r in model.rules if r.holds(present)]
        assert [r.then for r in rules_for(model, present) if r.holds(present)] == every, present
