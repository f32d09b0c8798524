"""The embedded default store: no server, no AWS, shared safely by two processes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cramp_coach.memory import StoreError, store_from_env, user_key
from cramp_coach.memory.sqlite import SqliteStore, default_path
from tests.persistence_envelopes import T0

REPO = Path(__file__).resolve().parents[1]


def test_default_path_is_the_ignored_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRAMP_SQLITE_PATH", raising=False)
    assert default_path() == REPO / "data" / "cramp-coach.sqlite3"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "data/cramp-coach.sqlite3"], cwd=REPO, check=False
    )
    assert ignored.returncode == 0  # personal data never lands in a commit


def test_store_from_env_defaults_to_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CRAMP_STORE", raising=False)
    monkeypatch.setenv("CRAMP_SQLITE_PATH", str(tmp_path / "x.sqlite3"))
    store = store_from_env()
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "x.sqlite3"


def test_folder_created_file_private_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "cramp.sqlite3"
    store = SqliteStore(path)
    assert not path.parent.exists()  # nothing happens until the store is used
    store.save(
        "k",
        T0,
        entries=[],
        prefs={"quiet": True},
        resume=None,
        clear_resume=False,
        freq_advised=False,
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.load("k", T0).quiet is True


def test_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError):
        SqliteStore(blocker / "x.sqlite3").load("k", T0)


def test_expired_rows_are_purged_on_save(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    entry = {
        "rid": "r1",
        "started_at": T0,
        "muscle": "CALF",
        "variant": "alone",
        "outcome": "eased",
    }
    store.save(
        "old",
        T0,
        entries=[entry],
        prefs={"log_consent": True},
        resume=None,
        clear_resume=False,
        freq_advised=False,
    )
    with sqlite3.connect(tmp_path / "s.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM items WHERE pk = 'old'").fetchone()[0] == 2
    later = T0 + 91 * 24 * 3600
    store.save(
        "new", later, entries=[], prefs={}, resume=None, clear_resume=False, freq_advised=False
    )
    with sqlite3.connect(tmp_path / "s.sqlite3") as conn:
        assert [r[0] for r in conn.execute("SELECT pk FROM items")] == ["new"]


def _append(path: str, worker: int, count: int) -> None:
    store = SqliteStore(path)
    for i in range(count):
        entry = {
            "rid": f"w{worker}n{i}",
            "started_at": T0 + i,
            "muscle": "CALF",
            "variant": "partner",
            "outcome": "eased",
        }
        store.save(
            user_key("household"),
            T0 + 100 + i,
            entries=[entry],
            prefs={"quiet": worker % 2 == 0, "log_consent": True},
            resume={"step": i},
            clear_resume=False,
            freq_advised=False,
        )


def test_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    workers, count = 4, 30
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append, args=(path, w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0] * workers
    profile = SqliteStore(path).load(user_key("household"), T0 + 200)
    assert len(profile.recent_starts) == workers * count


def test_embedded_default_runs_with_nothing_else(tmp_path: Path) -> None:
    """The local run path: default store, no AWS SDK imported, memory across processes."""
    code = (
        "import sys\n"
        "from cramp_coach.alexa.handle import handle_envelope\n"
        "from cramp_coach.alexa.skill import build_skill\n"
        "from tests.persistence_envelopes import Device, T0\n"
        "dev = Device(build_skill())\n"
        "if sys.argv[1] == 'first':\n"
        "    dev.cramp(T0); dev.intent('AMAZON.NextIntent', T0 + 20)\n"
        "    dev.intent('AMAZON.StopIntent', T0 + 30)\n"
        "else:\n"
        "    print(dev.launch(T0 + 120).speech)\n"
        "assert not [m for m in sys.modules if m.startswith(('boto3', 'botocore'))]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRAMP_", "AWS_"))}
    env["CRAMP_SQLITE_PATH"] = str(tmp_path / "data" / "cramp-coach.sqlite3")
    for phase in ("first", "second"):
        done = subprocess.run(
            [sys.executable, "-c", code, phase],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert "You were on step 2 of the calf steps" in done.stdout
    assert (tmp_path / "data" / "cramp-coach.sqlite3").exists()


def test_a_file_from_an_older_version_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, default_variant "
            "TEXT, quiet INTEGER, resume TEXT, resume_saved_at REAL, freq_advised_at "
            "REAL, expires_at INTEGER, muscle TEXT, variant TEXT, outcome TEXT, "
            "started_at REAL, PRIMARY KEY (pk, sk)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO items (pk, sk, default_variant, resume, resume_saved_at, "
            "expires_at) VALUES ('k', 'profile', 'alone', '{}', ?, ?)",
            (T0, int(T0) + 3600),
        )
    store = SqliteStore(path)
    assert store.load("k", T0 + 1).default_variant == "alone"
    store.save(
        "k",
        T0 + 2,
        entries=[],
        prefs={"log_consent": True},
        resume=None,
        clear_resume=False,
        freq_advised=False,
    )
    profile = store.load("k", T0 + 3)
    assert profile.log_consent is True and profile.resume is None  # legacy resume removed
