"""ask-sdk-core's DefaultSerializer, with two of its per-request costs taken out.

Every request envelope is read through about 30 SDK model classes; for each one the SDK
resolves the class from its dotted name with ``__import__`` again, and it reads the request's
timestamp with dateutil's general-purpose parser (about 40 us, a fifth of the whole read).
`EnvelopeSerializer` keeps the SDK's own reading and only:

* remembers each class it resolved (the names come from the SDK's model tables, a fixed set;
  the cache is bounded all the same);
* reads a timestamp in Alexa's own shape ("2026-11-21T03:00:00Z") with the standard library's
  ``datetime.fromisoformat``: the same instant, in UTC. Anything else goes to the SDK's parser.

The two hooks are the SDK's private (name-mangled) methods; tests/test_serializer.py checks that
they still exist, so an SDK upgrade that renames them fails a test rather than quietly slowing.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from ask_sdk_core.serialize import DefaultSerializer

_SDK = DefaultSerializer()


@functools.lru_cache(maxsize=1024)
def _model_class(class_name: str) -> Any:
    # Errors are not cached: an unknown name raises the SDK's SerializationException each time.
    return _SDK._DefaultSerializer__load_class_from_name(class_name)  # type: ignore[attr-defined]


def _alexa_timestamp(payload: Any) -> bool:
    """Alexa's shape: YYYY-MM-DDTHH:MM:SSZ (what every request's timestamp looks like)."""
    return (
        isinstance(payload, str)
        and len(payload) == 20
        and payload[10] == "T"
        and payload[19] == "Z"
        and payload[:4].isdigit()
    )


class EnvelopeSerializer(DefaultSerializer):
    """The SDK's serializer; see the module docstring for the two differences."""

    def _DefaultSerializer__load_class_from_name(self, class_name: str) -> Any:
        return _model_class(class_name)

    def _DefaultSerializer__deserialize_datetime(self, payload: Any, obj_type: Any) -> Any:
        if obj_type is datetime and _alexa_timestamp(payload):
            try:
                return datetime.fromisoformat(payload)
            except ValueError:
                pass  # the SDK's parser says what is wrong with it
        return super()._DefaultSerializer__deserialize_datetime(payload, obj_type)  # type: ignore[misc]
