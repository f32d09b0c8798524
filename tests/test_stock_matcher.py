"""Every scripted utterance reads the same under stock virtual-alexa, or is listed with a reason.

tests/e2e/run.js replaces virtual-core's greedy matcher with the local resolver's algorithm (it
splits adjacent slots, as Alexa's NLU does), so the end-to-end suite alone is not an independent
reading of the model. `run.js --stock-check` reads every utterance of the conversation scripts
with both matchers; the ones stock virtual-core reads differently must be listed, each with its
reason, in tests/e2e/stock_matcher_gaps.json, and a listed one that now agrees fails too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RUNNER = ROOT / "tests" / "e2e" / "run.js"
GAPS = ROOT / "tests" / "e2e" / "stock_matcher_gaps.json"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH")


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    if not (ROOT / "node_modules" / "virtual-alexa").is_dir():
        pytest.fail("node_modules/ is missing: run `npm ci` (make test does)")
    assert NODE is not None
    return subprocess.run(
        [NODE, str(RUNNER), "--stock-check", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip


def test_scripted_utterances_read_the_same_under_stock_virtual_core() -> None:
    done = _check()
    summary = re.search(r"stock check: (\d+) distinct utterances, (\d+) read the same", done.stdout)
    assert done.returncode == 0 and summary, done.stdout + done.stderr
    total, same = int(summary.group(1)), int(summary.group(2))
    listed = len(json.loads(GAPS.read_text())["utterances"])
    assert total == same + listed
    assert same / total >= 0.95, f"only {same} of {total} scripted utterances agree"


def test_the_check_fails_on_an_unlisted_disagreement_and_on_a_stale_entry(tmp_path: Path) -> None:
    gaps = json.loads(GAPS.read_text())
    reason = "a reason long enough to count"
    # One listed utterance dropped: its disagreement is now unlisted.
    dropped = dict(gaps["utterances"])
    text = next(iter(dropped))
    del dropped[text]
    unlisted = tmp_path / "unlisted.json"
    unlisted.write_text(json.dumps({"utterances": dropped}))
    done = _check("--gaps", str(unlisted))
    assert done.returncode == 1 and f'"{text}"' in done.stdout
    assert "reads it differently" in done.stdout
    # An utterance both read alike, listed: stale.
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"utterances": {**gaps["utterances"], "next": reason}}))
    done = _check("--gaps", str(stale))
    assert done.returncode == 1 and "now reads it the same" in done.stdout
