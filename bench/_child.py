"""Cold-start driver: runs in a fresh interpreter, once per measurement (see bench/cold.py).

Usage: python -P bench/_child.py <module with handler(event, context)> <event.json>

Imports nothing but ``time`` before taking its start time; reads a prebuilt request envelope
(so no envelope-building code is imported), imports the entry module, handles the one request
and prints one JSON line: phase times; the raw perf_counter readings at its start and at the
response (CLOCK_MONOTONIC on Linux, the same clock as the parent's, which times the spawn);
peak RSS after the response; whether the AWS SDK got loaded; the response's speech; which of
certifi / requests / urllib3 the interpreter had imported before this file ran (a clean
interpreter: none). With BENCH_CGROUP_PROCS set it joins that cgroup after the import and
before the handler call (bench/lambda_cpu.py: the Lambda CPU model).
"""

import time

_START = time.perf_counter()

import sys  # noqa: E402  (already loaded by the interpreter: free)

# Whatever the interpreter's own start-up imported: a site .pth that imports certifi in every
# process would flatter every ratio (issue 23); the bench runs children on a clean venv.
_AT_START = [name for name in ("certifi", "requests", "urllib3") if name in sys.modules]

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

AWS_MODULES = ("boto3", "botocore")
APL_MODEL = "ask_sdk_model.interfaces.alexa.presentation.apl"


def _aws_loaded() -> list[str]:
    return [name for name in AWS_MODULES if name in sys.modules]


def _peak_rss_kib() -> int:
    """Peak resident set size of this process so far, in KiB.

    /proc/self/status VmHWM first: getrusage's ru_maxrss survives exec on Linux, so in a
    child it can report the (larger) parent's peak instead of the child's own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> None:
    module_name, event_path = sys.argv[1], sys.argv[2]
    with open(event_path, encoding="utf-8") as handle:
        event = json.load(handle)
    t_event = time.perf_counter()
    module = importlib.import_module(module_name)
    t_import = time.perf_counter()
    aws_after_import = _aws_loaded()
    procs = os.environ.get("BENCH_CGROUP_PROCS")
    if procs:
        # The Lambda CPU model (bench/lambda_cpu.py): the init ran at full CPU; from here on
        # this process gets memory/1769 of a CPU, as an invocation does.
        with open(procs, "w", encoding="ascii") as group:
            group.write(str(os.getpid()))
    t_invoke = time.perf_counter()
    response = module.handler(event, None)
    t_response = time.perf_counter()

    rss_kib = _peak_rss_kib()
    speech = (response.get("response") or {}).get("outputSpeech") or {}
    print(
        json.dumps(
            {
                "start_clock": _START,
                "response_clock": t_response,
                "total_ms": (t_response - _START) * 1e3,
                "startup_ms": (t_event - _START) * 1e3,
                "import_ms": (t_import - t_event) * 1e3,
                "request_ms": (t_response - t_invoke) * 1e3,
                "join_ms": (t_invoke - t_import) * 1e3,
                "start_imports": _AT_START,
                "peak_rss_kib": rss_kib,
                "aws_after_import": aws_after_import,
                "aws_after_response": _aws_loaded(),
                "apl_model_loaded": APL_MODEL in sys.modules,
                "ssml": speech.get("ssml") or speech.get("text") or "",
            }
        )
    )


main()
