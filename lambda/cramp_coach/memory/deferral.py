"""Where a store's deferred writes are kept: the self-invocation in Lambda, else the spool file."""

from __future__ import annotations

import os
from pathlib import Path

from cramp_coach.memory import Store
from cramp_coach.memory.deferred import LAMBDA_SPOOL, SPOOL_NAME, Deferral
from cramp_coach.memory.self_invoke import SelfInvoke
from cramp_coach.memory.spool import Spool


def default_spool_path() -> Path:
    """CRAMP_SPOOL_PATH, else data/ (beside the default SQLite store)."""
    configured = os.environ.get("CRAMP_SPOOL_PATH")
    if configured:
        return Path(configured).expanduser()
    from cramp_coach.memory.sqlite import default_path

    return default_path().parent / SPOOL_NAME


def deferral_for(store: Store) -> Deferral:
    """Where this store's deferred writes are kept: the self-invocation in AWS Lambda, else
    the spool file the store names (`spool_path`, `spool_scope`), else this process only."""
    scope = getattr(store, "spool_scope", type(store).__name__)
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if function:
        fallback = os.environ.get("CRAMP_SPOOL_PATH") or LAMBDA_SPOOL
        return SelfInvoke(function, Spool(fallback, scope))
    path = getattr(store, "spool_path", None)
    return Spool(path() if callable(path) else None, scope)
