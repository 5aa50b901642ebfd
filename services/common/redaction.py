"""Keeping secrets out of storage and logs: any key whose name contains "token",
"password" or "secret" has its value replaced by ``[redacted]``, at any depth."""

from __future__ import annotations

from typing import Any

SENSITIVE_WORDS = ("token", "password", "secret")
REDACTED = "[redacted]"


def is_sensitive(key: str) -> bool:
    """Whether a field of this name may hold a secret."""
    lowered = key.lower()
    return any(word in lowered for word in SENSITIVE_WORDS)


def redact(value: Any) -> Any:
    """``value`` with every sensitive key's value replaced, at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_sensitive(str(key)) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
