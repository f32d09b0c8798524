"""A model of Lambda's CPU for the cold-start bench: the init at full CPU, the invocation at
memory/1769 of one vCPU (AWS: 1,769 MB is one vCPU's worth; CPU is given in proportion).

A cgroup's CFS bandwidth limit does the throttling. The child (bench/_child.py) imports the
entry point at full speed, then moves itself into the cgroup for its memory size and only
then calls the handler, so only the invocation is throttled, as in Lambda. What works is
found on this machine at run time and printed with the figures:

- cgroup v2: a child group with ``cpu.max`` = "<quota> <period>" (needs the ``cpu``
  controller enabled in the parent's ``cgroup.subtree_control``);
- cgroup v1: a child group of the ``cpu`` hierarchy with ``cpu.cfs_quota_us`` /
  ``cpu.cfs_period_us`` (the same CFS bandwidth control, older interface);
- neither writable (not root, a read-only cgroupfs): the model is skipped, with the reason.

The period is PERIOD_US (20 ms): Lambda does not document its own, and a short one spreads
the share evenly over a request of a few hundred ms (100 ms, the kernel's default, would let
a 128 MB request run 7 ms and then stall for 93). The quota is period * memory / 1769.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

VCPU_MB = 1769  # memory at which a function gets one full vCPU
MEMORY_SIZES_MB = (128, 256, 512, 1024)
PERIOD_US = 20_000
CGROUP_ENV = "BENCH_CGROUP_PROCS"  # the child writes its pid here before the handler call

V2_ROOT = Path("/sys/fs/cgroup")
V1_CPU = Path("/sys/fs/cgroup/cpu")


def share(memory_mb: int) -> float:
    """The fraction of one vCPU Lambda gives an invocation at this memory size."""
    return min(1.0, memory_mb / VCPU_MB)


def quota_us(memory_mb: int, period_us: int = PERIOD_US) -> int:
    return max(1000, round(period_us * share(memory_mb)))  # the kernel's minimum is 1 ms


def _v2_usable() -> bool:
    controllers = V2_ROOT / "cgroup.subtree_control"
    try:
        return "cpu" in controllers.read_text().split()
    except OSError:
        return False


def interface() -> str | None:
    """ "v2", "v1" or None: which CPU bandwidth control this machine lets the bench use."""
    if _v2_usable() and os.access(V2_ROOT, os.W_OK):
        return "v2"
    if (V1_CPU / "cpu.cfs_quota_us").is_file() and os.access(V1_CPU, os.W_OK):
        return "v1"
    return None


@contextmanager
def throttled_group(memory_mb: int) -> Iterator[Path]:
    """A cgroup limited to this memory size's CPU share, for the block; yields the file a
    process writes its pid to in order to join it. Removed afterwards."""
    kind = interface()
    if kind is None:
        raise RuntimeError("no writable cgroup CPU controller (v2 cpu.max or v1 cfs quota)")
    name = f"cramp-bench-{memory_mb}mb-{uuid.uuid4().hex[:8]}"
    if kind == "v2":
        group = V2_ROOT / name
        group.mkdir()
        (group / "cpu.max").write_text(f"{quota_us(memory_mb)} {PERIOD_US}\n")
    else:
        group = V1_CPU / name
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text(f"{PERIOD_US}\n")
        (group / "cpu.cfs_quota_us").write_text(f"{quota_us(memory_mb)}\n")
    try:
        yield group / "cgroup.procs"
    finally:
        _remove(group, kind)


def _remove(group: Path, kind: str) -> None:
    """Move any process left in the group out (a child that hung), then delete it."""
    parent = (V2_ROOT if kind == "v2" else V1_CPU) / "cgroup.procs"
    try:
        for pid in (group / "cgroup.procs").read_text().split():
            with suppress(OSError):
                parent.write_text(pid)
        group.rmdir()
    except OSError:
        pass


def describe() -> str:
    kind = interface()
    if kind == "v2":
        how = "cgroup v2 cpu.max"
    elif kind == "v1":
        how = "cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us"
    else:
        return "unavailable here (no writable cgroup CPU controller)"
    return (
        f"{how}, period {PERIOD_US // 1000} ms, quota = period x memory / {VCPU_MB} MB; "
        "the child joins the group after its init, so only the handler call is throttled"
    )
