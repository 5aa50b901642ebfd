"""What a file is, from its first bytes (never from its name or the client's word).

A small pure-Python sniffer: magic numbers for images, PDF, ZIP (and the Office formats
inside it), gzip and executables (ELF, PE, Mach-O, ``#!`` scripts); UTF-8 text is told
apart as JSON, CSV or plain text. Anything else is ``application/octet-stream``.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata

HEAD_BYTES = 64 * 1024

ELF = "application/x-executable"
PE = "application/vnd.microsoft.portable-executable"
MACH_O = "application/x-mach-binary"
SCRIPT = "text/x-script"
EXECUTABLE_TYPES = ",".join((ELF, PE, MACH_O, SCRIPT))

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OCTET_STREAM = "application/octet-stream"

# Mach-O thin (32/64-bit, both byte orders) and universal ("fat") binaries.
_MACH_O_MAGIC = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
_MAGIC = (
    (b"\x7fELF", ELF),
    (b"#!", SCRIPT),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"\x1f\x8b", "application/gzip"),
)
_TEXT_CONTROLS = {"\t", "\n", "\r", "\f"}


def sniff(head: bytes, complete: bool) -> str:
    """The media type of a file starting with ``head`` (``complete``: it is the whole file)."""
    if head[:4] in _MACH_O_MAGIC:
        return MACH_O
    # A DOS/PE header is binary; a text that happens to start with "MZ" is no program.
    if head.startswith(b"MZ") and _utf8_text(head, complete) is None:
        return PE
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(head)
    text = _utf8_text(head, complete)
    if text is None:
        return OCTET_STREAM
    return _text_kind(text, complete)


def _zip_kind(head: bytes) -> str:
    # Entry names are stored uncompressed in each local header; Office files start with
    # [Content_Types].xml and _rels/, then their main part's folder.
    if b"word/" in head:
        return DOCX
    if b"xl/" in head:
        return XLSX
    return "application/zip"


def _utf8_text(head: bytes, complete: bool) -> str | None:
    """The head as text if it is UTF-8 without binary control characters, else None."""
    data = head.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut in two at the end of the head is not a reason to call it binary.
        if complete or exc.start < len(data) - 3:
            return None
        text = data[: exc.start].decode("utf-8", errors="strict")
    if any(unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS for ch in text):
        return None
    return text


def _text_kind(text: str, complete: bool) -> str:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        if not complete:
            return "application/json"
        try:
            json.loads(stripped)
            return "application/json"
        except ValueError:
            return "text/plain"
    lines = text.splitlines()
    if not complete:
        lines = lines[:-1]  # the last line may be cut
    rows = [row for row in csv.reader(io.StringIO("\n".join(lines[:50]))) if row]
    if len(rows) >= 2 and len(rows[0]) >= 2 and all(len(row) == len(rows[0]) for row in rows):
        return "text/csv"
    return "text/plain"
