"""Client file names: made safe to keep as metadata, and offered back on download in a
``Content-Disposition`` header (RFC 6266, with the RFC 5987 ``filename*`` form)."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_LENGTH = 255
FALLBACK = "file"
# RFC 5987 attr-char, less ALPHA / DIGIT (which quote keeps anyway).
_ATTR_CHARS = "!#$&+-.^_`|~"


def safe_filename(raw: str | None) -> str:
    """The last path segment of ``raw``, without control or format characters, at most
    255 characters (keeping a short extension); ``file`` when nothing is left.
    ``../../etc/passwd`` becomes ``passwd``."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not name.strip("."):
        return FALLBACK
    if len(name) > MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = stem[: MAX_LENGTH - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:MAX_LENGTH]
    return name


def ascii_fallback(filename: str) -> str:
    """An ASCII stand-in for ``filename`` for clients without RFC 5987 support."""
    decomposed = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    cleaned = "".join(
        ch if ch.isprintable() and ch not in '"\\%;' else "_" for ch in decomposed
    ).strip()
    return cleaned if cleaned.strip("._ ") else "download"


def content_disposition(filename: str) -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>``."""
    encoded = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{encoded}"
