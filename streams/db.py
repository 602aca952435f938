"""PostgreSQL connections and the translation of driver errors into leadstream errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors

from processors.errors import (
    ConcurrentWriteError,
    InfrastructureError,
    LeadstreamError,
    RefusedByDatabaseError,
)

# Errors that mean "another transaction got there first": re-read and decide again.
_CONCURRENT = (
    pg_errors.UniqueViolation,
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    pg_errors.LockNotAvailable,
)

# Errors about the data itself: the same statement fails however often it is retried.
_REFUSED = (
    pg_errors.DataError,  # class 22: out of range, bad text, string too long, ...
    pg_errors.ProgramLimitExceeded,  # e.g. a key too large for its btree index
    pg_errors.CheckViolation,
    pg_errors.NotNullViolation,
)


@contextmanager
def translated() -> Iterator[None]:
    """Run driver calls so that only leadstream errors escape."""
    try:
        yield
    except LeadstreamError:
        raise
    except _CONCURRENT as e:
        raise ConcurrentWriteError(f"concurrent write: {e.diag.message_primary or e}") from e
    except _REFUSED as e:
        raise RefusedByDatabaseError(f"PostgreSQL refused: {e.diag.message_primary or e}") from e
    except psycopg.Error as e:
        raise InfrastructureError(f"PostgreSQL: {e}") from e
    except OSError as e:
        raise InfrastructureError(f"PostgreSQL unreachable: {e}") from e


def connect(
    url: str, *, autocommit: bool = False, application_name: str = "leadstream"
) -> psycopg.Connection:
    with translated():
        return psycopg.connect(
            url, autocommit=autocommit, application_name=application_name, connect_timeout=10
        )
