"""PostgreSQL connections and the translation of driver errors into leadstream errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors

from processors.errors import ConcurrentWriteError, InfrastructureError, LeadstreamError

# Errors that mean "another transaction got there first": re-read and decide again.
_CONCURRENT = (
    pg_errors.UniqueViolation,
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    pg_errors.LockNotAvailable,
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
