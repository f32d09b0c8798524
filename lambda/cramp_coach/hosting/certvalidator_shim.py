"""Lets flask-ask-sdk import without certvalidator and oscrypto (imported before the SDK).

Why this module exists (the oscrypto / OpenSSL 3.0.x problem)
--------------------------------------------------------------
flask-ask-sdk's ``skill_adapter`` imports ``ask_sdk_webservice_support.verifier`` at module
level, and that module imports ``certvalidator``, which imports ``oscrypto``. oscrypto 1.3.0
(the newest release on PyPI) dlopens the system libcrypto and parses its version with the
regex ``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b``: "OpenSSL 3.0.19" has no word boundary after "3.0.1",
so the import dies with ``LibraryNotFoundError: Error detecting the version of libcrypto``.
Every OpenSSL with a two-digit patch number (3.0.10+, 3.1.10+, ...) is affected, which is
most current Linux distributions; AWS Lambda happens not to be.

Options weighed:

* ``oscrypto.use_openssl(libcrypto, libssl)`` only changes *which* library is opened; the
  version regex still runs on its version string and fails the same way. No help.
* Installing oscrypto from its git ``master`` (which has the regex fix) needs a direct URL
  dependency: not installable from PyPI and not reproducible offline. Monkeypatching the
  regex or the ``re`` module during import is fragile and touches a private module.
* What we do: never import certvalidator/oscrypto at all. We do not want them anyway:
  the stock ``RequestVerifier`` fetches the certificate with ``urlopen`` without a timeout
  and lets a fetch failure escape as a 500. ``AlexaRequestVerifier`` below re-implements
  Amazon's documented checks with ``cryptography`` (already a dependency of the SDK):
  certificate URL rules, real chain building to a trust store with the server name
  ``echo-api.amazon.com`` (``cryptography.x509.verification``), validity dates, and
  SHA256withRSA over the raw body from the ``Signature-256`` header; plus the timestamp
  and skill id checks. The only shim is :func:`_install_certvalidator_placeholder`: before
  the SDK is imported it registers a tiny ``certvalidator`` placeholder in ``sys.modules``
  (unless the real one is already loaded) so that the SDK's top-level
  ``from certvalidator import ...`` succeeds without loading oscrypto. The placeholder
  fails closed: if anything ever tried to use it, validation raises its ``ValidationError``,
  which the stock verifier turns into a refused request (400). The web service switches
  the stock verifiers off (``ASK_SDK_VERIFY_SIGNATURE``/``ASK_SDK_VERIFY_TIMESTAMP`` =
  False) and plugs ``AlexaRequestVerifier`` into flask-ask-sdk's ``SkillAdapter`` instead.

This needs no patched package, so it survives ``pip install`` on a fresh machine with any
OpenSSL, and it behaves the same on every machine (oscrypto is never loaded anywhere).
``tests/test_webservice_import.py`` checks it in a fresh interpreter.
"""

from __future__ import annotations

import sys
import types


def _install_certvalidator_placeholder() -> None:
    """Let ``ask_sdk_webservice_support.verifier`` import without certvalidator/oscrypto."""
    if "certvalidator" in sys.modules:  # the real one (or ours) is already loaded: keep it
        return

    class ValidationError(Exception):
        """Placeholder for certvalidator.errors.ValidationError."""

    class PathError(ValidationError):
        """Placeholder for certvalidator.errors.PathError."""

    class CertificateValidator:
        """Fails closed: cramp_coach validates chains with `cryptography` instead."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            raise ValidationError(
                "certvalidator is not loaded (oscrypto cannot parse OpenSSL 3.0.1x versions); "
                "use cramp_coach.hosting.verification.AlexaRequestVerifier"
            )

    package = types.ModuleType("certvalidator", "cramp_coach placeholder, see verification.py")
    errors = types.ModuleType("certvalidator.errors")
    package.CertificateValidator = CertificateValidator  # type: ignore[attr-defined]
    package.ValidationError = ValidationError  # type: ignore[attr-defined]
    package.errors = errors  # type: ignore[attr-defined]
    package.__path__ = []  # a package, so `certvalidator.errors` resolves
    package.CRAMP_COACH_PLACEHOLDER = True  # type: ignore[attr-defined]
    errors.ValidationError = ValidationError  # type: ignore[attr-defined]
    errors.PathError = PathError  # type: ignore[attr-defined]
    sys.modules["certvalidator"] = package
    sys.modules["certvalidator.errors"] = errors


# Must run before anything imports ask_sdk_webservice_support or flask_ask_sdk.
_install_certvalidator_placeholder()
