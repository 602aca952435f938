"""Turn a byte source into text: the encoding detected or given, checked before any row is read."""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from typing import TextIO

from processors.errors import InputFileError
from streams.readers.encoding import FALLBACK_ERRORS, check_encoding, detect_encoding
from streams.readers.source import Source

_MARKUP = (("<!doctype html", "an HTML page"), ("<html", "an HTML page"), ("<?xml", "an XML document"))


@dataclass
class Text:
    stream: TextIO
    sample: str  # the decoded first bytes, cut at a line end unless they are the whole file
    encoding: str


def _decode_sample(source: Source, encoding: str, errors: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    text = decoder.decode(source.sample, final=source.complete)
    if not source.complete:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut >= 0 else text
    return text[1:] if text.startswith("\ufeff") else text


def _check_text(name: str, sample: str) -> None:
    head = sample[:65536]
    # a stray NUL or control character happens in real exports; many of them mean binary data
    controls = sum(1 for c in head if c < " " and c not in "\t\r\n\f\v")
    if controls > max(8, len(head) // 100):
        raise InputFileError(
            f"{name} is binary data, not a table"
            " (if it is UTF-16 or UTF-32 text without a BOM, pass --encoding)"
        )
    start = sample.lstrip()[:20].lower()
    for prefix, what in _MARKUP:
        if start.startswith(prefix):
            raise InputFileError(f"{name} is {what}, not a table")


def open_text(source: Source, encoding: str | None = None) -> Text:
    """Decode ``source``: a given encoding must decode the first bytes, else one is detected."""
    if encoding is None:
        name = detect_encoding(source.sample, complete=source.complete)
    else:
        name = check_encoding(encoding)
        if name == "utf-8" and source.sample.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            _decode_sample(source, name, "strict")
        except UnicodeDecodeError as e:
            guess = detect_encoding(source.sample, complete=source.complete)
            raise InputFileError(
                f"{source.name} is not {encoding} text: byte 0x{e.object[e.start]:02x} at offset"
                f" {e.start} ({e.reason}); it looks like {guess}"
            ) from e
    sample = _decode_sample(source, name, FALLBACK_ERRORS)
    if not sample.strip():
        raise InputFileError(f"{source.name} is empty: no header row")
    _check_text(source.name, sample)
    stream = io.TextIOWrapper(source.stream, encoding=name, errors=FALLBACK_ERRORS, newline="")
    return Text(stream, sample, name)
