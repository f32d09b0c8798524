"""Triage quality: vignettes written from PROTOCOLS section 4, run through real envelopes.

`make triage` prints the report (`python -m tests.triage`); tests/test_triage.py asserts the
targets of issue 20. See tests/triage/README.md for the vignette format and the classifier.
"""
