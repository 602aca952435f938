"""The one exception root of leadstream; adapters translate driver errors into these."""

from __future__ import annotations


class LeadstreamError(Exception):
    """Root of every error leadstream raises on purpose."""


class InvalidEventError(LeadstreamError):
    """An event that cannot be decoded or does not match its schema: a dead letter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class InputFileError(LeadstreamError):
    """A contact file that cannot be imported at all (unreadable, not a table, bad header)."""


class ConfigurationError(LeadstreamError):
    """Settings or topology that the worker refuses to run with."""


class InfrastructureError(LeadstreamError):
    """Kafka or PostgreSQL is unreachable or failed: retried in place, never a per-record outcome."""


class RefusedByDatabaseError(LeadstreamError):
    """PostgreSQL refuses some record's data (too large for an index, out of range, ...): no retry
    fixes it, so the batch is split until the record is found and set aside."""


class ConcurrentWriteError(InfrastructureError):
    """Another transaction claimed what this batch meant to write: re-read and decide again."""
