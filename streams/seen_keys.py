"""Count keys seen before, for any number of keys, in a temporary SQLite file (not in memory)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence


class SeenKeys:
    """64-bit digests of keys in an on-disk table: memory stays flat for millions of distinct keys.

    Two different keys share a digest with probability ~n²/2⁶⁵ (about 3·10⁻⁶ for ten million):
    good enough for a count a person reads before an import.
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "" = a private temporary file, deleted on close
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;"
            "CREATE TABLE seen (h INTEGER PRIMARY KEY);"
        )

    def add(self, keys: Sequence[bytes]) -> int:
        """Record ``keys``; return how many were seen before (earlier in ``keys`` included)."""
        digests = [
            (int.from_bytes(hashlib.blake2b(k, digest_size=8).digest(), "big", signed=True),) for k in keys
        ]
        before = self._db.total_changes
        self._db.executemany("INSERT OR IGNORE INTO seen VALUES (?)", digests)
        return len(keys) - (self._db.total_changes - before)

    def close(self) -> None:
        self._db.close()
