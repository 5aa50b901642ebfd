"""The content sniffer and the file-name rules, on their own."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest

from services.attachment.filenames import ascii_fallback, content_disposition, safe_filename
from services.attachment.sniffing import DOCX, XLSX, sniff
from tests.attachment.test_attachments import png_bytes
from tests.attachment.test_hostile_uploads import ELF, MACH_O, PE, SCRIPT


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, "<xml/>" * 50)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (png_bytes(), "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (zipped("a.txt", "b/c.txt"), "application/zip"),
        (zipped("[Content_Types].xml", "_rels/.rels", "word/document.xml"), DOCX),
        (zipped("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"), XLSX),
        (gzip.compress(b"hello"), "application/gzip"),
        ("Grüße, plain text\nline two\n".encode(), "text/plain"),
        (b"\xef\xbb\xbfwith a BOM", "text/plain"),
        (json.dumps({"a": [1, 2]}).encode(), "application/json"),
        (b"{not json at all", "text/plain"),
        (b"name,age\nann,31\nbob,42\n", "text/csv"),
        (b'name,comment\nann,"likes, commas"\n', "text/csv"),
        (b"MZ is a fine way to start a sentence.", "text/plain"),
        (ELF, "application/x-executable"),
        (PE, "application/vnd.microsoft.portable-executable"),
        (MACH_O, "application/x-mach-binary"),
        (SCRIPT, "text/x-script"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream"),
    ],
)
def test_sniff(content, expected):
    assert sniff(content, complete=True) == expected


def test_a_multibyte_character_cut_by_the_head_is_still_text():
    head = ("a" * 10 + "é").encode()[:-1]
    assert sniff(head, complete=False) == "text/plain"
    assert sniff(head, complete=True) == "application/octet-stream"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("C:/Users/x/report.pdf", "report.pdf"),
        ("a\\b\\c.txt", "c.txt"),
        ("bell\x07\x00name.txt", "bellname.txt"),
        ("right\u202eto-left.txt", "rightto-left.txt"),
        ("  spaced.txt  ", "spaced.txt"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        ("Résumé.pdf", "Résumé.pdf"),
    ],
)
def test_safe_filename(raw, expected):
    assert safe_filename(raw) == expected


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name():
    assert content_disposition('日本 "quote".txt') == (
        'attachment; filename="_quote_.txt"; '
        "filename*=UTF-8''%E6%97%A5%E6%9C%AC%20%22quote%22.txt"
    )
    assert ascii_fallback("日本") == "download"
