"""Open a file or stdin as a byte stream: counted for progress, gzip unwrapped, first bytes sampled."""

from __future__ import annotations

import gzip
import io
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from processors.errors import InputFileError

SAMPLE_BYTES = 256 * 1024
_BUFFER = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # xlsx/xlsb/ods zip, legacy xls
# Common files people pick by mistake; named so the error says what the file is.
_NOT_TABLES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
)


class _Counted(io.RawIOBase):
    """Count the bytes read from the underlying file: the position progress reports."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class _Replay(io.RawIOBase):
    """Serve bytes already read for sniffing, then the rest of the stream.

    A stream that breaks later (a truncated gzip file) fails as an :class:`InputFileError`.
    """

    def __init__(self, head: bytes, inner: BinaryIO, name: str) -> None:
        self._head = memoryview(head)
        self._inner = inner
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
            raise InputFileError(f"{self._name} cannot be read to its end: {e}") from e
        buffer[: len(data)] = data
        return len(data)


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    """Read ``n`` bytes unless the stream ends first (a pipe hands out short reads)."""
    parts: list[bytes] = []
    want = n
    while want > 0:
        data = stream.read(want)
        if not data:
            break
        parts.append(data)
        want -= len(data)
    return b"".join(parts)


def _peek(stream: BinaryIO, n: int, name: str) -> tuple[bytes, BinaryIO]:
    head = _read_up_to(stream, n)
    return head, io.BufferedReader(_Replay(head, stream, name), _BUFFER)


@dataclass
class Source:
    """The content of a file (decompressed), with its first bytes and its progress in the file."""

    name: str  # what the user named: a file name or "stdin"
    inner_name: str  # the name without .gz: its suffix hints the format
    stream: BinaryIO  # from the first byte of the content
    sample: bytes
    complete: bool  # the sample is the whole content
    size: int | None  # bytes of the file as stored (compressed), None for stdin
    position: Callable[[], int]
    path: Path | None  # the file itself, when its content is not compressed
    compressed: bool = False
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def is_workbook(self) -> bool:
        return self.sample.startswith(WORKBOOK_MAGIC)

    def workbook_path(self) -> Path:
        """A path calamine can open: the file itself, or the content spooled to a temporary file."""
        if self.path is not None:
            return self.path
        spool = tempfile.NamedTemporaryFile(prefix="leadstream-", suffix=Path(self.inner_name).suffix)  # noqa: SIM115 - closed by close()
        shutil.copyfileobj(self.stream, spool, _BUFFER)
        spool.flush()
        self._closers.append(spool.close)
        return Path(spool.name)

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def _check_is_table(name: str, sample: bytes) -> None:
    for magic, what in _NOT_TABLES:
        if sample.startswith(magic):
            raise InputFileError(f"{name} is {what}, not a table")


def open_source(path: Path | str) -> Source:
    """Open ``path`` (``-`` is stdin), unwrap gzip and sample the first bytes of the content."""
    is_stdin = str(path) == "-"
    if is_stdin:
        base: BinaryIO = sys.stdin.buffer
        name, size = "stdin", None
    else:
        path = Path(path)
        if not path.exists():
            raise InputFileError(f"{path} does not exist")
        if path.is_dir():
            raise InputFileError(f"{path} is a directory, not a file")
        base = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by Source.close
        name, size = path.name, path.stat().st_size
    counted = _Counted(base)
    closers: list[Callable[[], None]] = [] if is_stdin else [base.close]
    try:
        magic, stream = _peek(io.BufferedReader(counted, _BUFFER), 4, name)
        inner_name, compressed = name, magic.startswith(GZIP_MAGIC)
        if compressed:
            stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
            inner_name = name[:-3] if name.lower().endswith(".gz") else Path(name).stem
        try:
            sample, stream = _peek(stream, SAMPLE_BYTES, name)
        except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
            raise InputFileError(f"{name} is not a readable gzip file: {e}") from e
        _check_is_table(name, sample)
        return Source(
            name=name,
            inner_name=inner_name,
            stream=stream,
            sample=sample,
            complete=len(sample) < SAMPLE_BYTES,
            size=size,
            position=lambda: counted.count,
            path=None if is_stdin or compressed else Path(path),
            compressed=compressed,
            _closers=closers,
        )
    except BaseException:
        for close in closers:
            close()
        raise
