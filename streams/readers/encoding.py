"""Detect a text file's encoding from its first bytes, and decode stray bytes instead of failing."""

from __future__ import annotations

import codecs

from processors.errors import InputFileError

# A byte that the chosen encoding cannot decode is read as cp1252 (latin-1 for the five bytes
# cp1252 leaves undefined): files glued together from two exports mix encodings, and a stream
# that dies half-way through an import is worse than one odd character in one cell.
FALLBACK_ERRORS = "leadstream-cp1252"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class _Fallbacks:
    """How many bytes were read with the fallback, so a report can say so."""

    count = 0


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    _Fallbacks.count += len(bad)
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


codecs.register_error(FALLBACK_ERRORS, _cp1252_fallback)


def fallback_bytes() -> int:
    """Bytes decoded with the fallback so far in this process."""
    return _Fallbacks.count


def _utf16_without_bom(sample: bytes) -> str | None:
    """Outlook writes a BOM, but not every tool does: ASCII text in UTF-16 is half NUL bytes."""
    head = sample[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > len(head) * 0.4 and even == 0:
        return "utf-16-le"
    if even > len(head) * 0.4 and odd == 0:
        return "utf-16-be"
    return None


def _is_utf8(sample: bytes, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=complete)  # a sample may end inside a character
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes, *, complete: bool = False) -> str:
    """The encoding of a text file from its first bytes: a BOM, UTF-8, or else cp1252.

    ``complete`` says the sample is the whole file (so it may not end inside a character).
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16
    return "utf-8" if _is_utf8(sample, complete) else "cp1252"


def check_encoding(name: str) -> str:
    """Validate an ``--encoding`` value; return Python's canonical codec name."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputFileError(f"unknown encoding {name!r}") from None
