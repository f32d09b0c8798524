"""flask-ask-sdk imports on this machine, in a fresh interpreter, without oscrypto.

See cramp_coach/hosting/verification.py for the problem (oscrypto 1.3.0 cannot parse OpenSSL
"3.0.19") and why the fix is to never load certvalidator/oscrypto.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_flask_ask_sdk_imports_through_cramp_coach_in_a_fresh_process() -> None:
    result = _fresh(
        """
        import sys
        import cramp_coach.hosting.webservice
        import flask_ask_sdk.skill_adapter
        from flask_ask_sdk.skill_adapter import SkillAdapter
        assert "oscrypto" not in sys.modules, "oscrypto was loaded"
        assert sys.modules["certvalidator"].CRAMP_COACH_PLACEHOLDER
        print("imported", SkillAdapter.__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "imported SkillAdapter" in result.stdout


def test_verification_module_alone_is_enough() -> None:
    # Anything importing our verifier first can use flask_ask_sdk directly.
    result = _fresh(
        """
        import cramp_coach.hosting.verification
        import flask_ask_sdk.skill_adapter
        import ask_sdk_webservice_support.webservice_handler
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr


def test_the_upstream_problem_is_what_we_think_it_is() -> None:
    """Without the fix, the bare import fails exactly as documented (on affected OpenSSL)."""
    result = _fresh("import flask_ask_sdk.skill_adapter")
    if result.returncode == 0:
        pytest.skip("this machine's OpenSSL version is parseable by oscrypto 1.3.0")
    assert "Error detecting the version of libcrypto" in result.stderr, result.stderr


def test_placeholder_fails_closed_in_the_stock_verifier() -> None:
    """If anything ever used the SDK's own verifier, chain validation refuses (400)."""
    import cramp_coach.hosting.verification  # noqa: F401  # first: it lets the SDK import

    # isort: split
    from ask_sdk_webservice_support.verifier import RequestVerifier, VerificationException

    with pytest.raises(VerificationException):
        RequestVerifier()._validate_cert_chain(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        )
