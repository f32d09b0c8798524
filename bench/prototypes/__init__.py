"""Measured alternatives for the DynamoDB client (proposals, not the shipped code).

Each ``entry_*`` module is a Lambda entry point equal to cramp_coach.lambda_entry except for
the client handed to ``DynamoStore(table, client=...)``; the benchmark runs them as extra
cold-launch scenarios with ``--prototypes`` so a proposed change comes with its measured gain.
"""
