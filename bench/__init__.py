"""Cramp Coach benchmarks: cold start, warm latency, memory, artifact size, speech time.

Run from the repository root: ``.venv/bin/python -m bench`` (``--quick``, ``--runs N``).
The figures and how to read them are in docs/performance.md; the modules:

- ``cold``: fresh processes (``_child.py``) on a clean python3.13 venv against a local
  DynamoDB (moto), beside the three baselines in ``baselines/`` (hello world, hello world plus
  one botocore read, the official persistence pattern), then again under ``lambda_cpu``
  (its parts: ``cold_tables``, the local DynamoDB and what the users have stored;
  ``cold_scenarios``; ``cold_process``, one child timed);
- ``lambda_cpu``: the Lambda CPU model (init at full CPU, the handler call at memory/1769 of a
  CPU through a cgroup's CFS quota) at 128, 256, 512 and 1024 MB;
- ``warm``: in-process latency per request type, no database I/O;
- ``speech``: time to first instruction, synthesized with espeak-ng;
- ``artifact``: size of the `sam build` output (or an equivalent pip build);
- ``run``: ``python -m bench``, all of the above, checked against ``goals`` and printed by
  ``report``.

Nothing here imports at package import time: the cold-start children import
``bench.baselines.*`` through this package.
"""
