"""Structured JSON logs, with emails and phone numbers masked before anything is written."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from processors.normalize import mask

_EMAIL = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
# Phones as they reach logs: E.164 and international forms (+ then 7-15 digits, maybe spaced),
# national forms with a parenthesised area code, and 3-3-4 groups. Bare digit runs are left
# alone: offsets, counts and timestamps are digit runs too, and identities are stored as E.164.
_PHONE = (
    r"\+\d(?:[\s.-]?\(?\d\)?){6,14}"
    r"|\(\d{2,5}\)\s?\d{2,4}[\s.-]?\d{2,5}"
    r"|\b\d{3}[\s.-]\d{3}[\s.-]\d{4}\b"
)
_PII = re.compile(rf"(?<![\w+])(?:{_EMAIL}|{_PHONE})")

# LogRecord attributes that are not user "extra" fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def mask_text(text: str) -> str:
    """``text`` with every email and phone number masked (``j***@example.com``, ``+33***78``)."""
    return _PII.sub(lambda m: mask(m.group(0)), text)


class MaskingFilter(logging.Filter):
    """Masks the rendered message and any exception text of each record, whatever the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception, and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = mask_text(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exception"] = record.exc_text
        return orjson.dumps(doc, default=str).decode()


def logging_config(level: str | int = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends every record, masked, as JSON to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": MaskingFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["mask"],
                "formatter": "json",
            }
        },
        "root": {"level": level.upper() if isinstance(level, str) else level, "handlers": ["json"]},
    }
