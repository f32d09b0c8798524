"""Cramp Coach benchmarks: cold start, warm latency, memory, artifact size, speech time.

Run from the repository root: ``.venv/bin/python -m bench`` (``--quick``, ``--runs N``).
The figures and how to read them are in the README's "Performance" section; the modules:

- ``cold``: fresh processes (``_child.py``) against a local DynamoDB (moto), beside the two
  baselines in ``baselines/``, with variants (the launch through boto3, the deploy artifact);
- ``warm``: in-process latency per request type, no database I/O;
- ``speech``: time to first instruction, synthesized with espeak-ng;
- ``artifact``: size of the `sam build` output (or an equivalent pip build).

Nothing here imports at package import time: the cold-start children import
``bench.baselines.*`` through this package.
"""
