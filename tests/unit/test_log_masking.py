"""Worker logs are JSON lines, and emails and phone numbers never reach them whole."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from streams.logs import logging_config, mask_text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "Key (org_id, channel, channel_identifier)=(acme, email, Jane.Doe@Example.com)",
            "Jane.Doe@Example.com",
        ),
        ("lead +12025550150 updated", "+12025550150"),
        ("call +1 (202) 555-0150 now", "+1 (202) 555-0150"),
        ("mobile +33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("national (202) 555-0150", "(202) 555-0150"),
        ("dashed 202-555-0150", "202-555-0150"),
    ],
)
def test_emails_and_phones_are_masked(text: str, secret: str) -> None:
    masked = mask_text(text)
    assert secret not in masked
    assert "***" in masked


def test_offsets_times_and_ids_are_left_alone() -> None:
    text = (
        "dead letter lead_import_row[3]@123456789 at 2024-05-01T12:00:00Z, ts 1714567890123,"
        " import 3f2a9c1e-1234-5678-9abc-def012345678, batch of 5000 in 0.25s"
    )
    assert mask_text(text) == text


def test_records_are_json_lines_with_args_extras_and_exceptions_masked() -> None:
    config = logging_config("DEBUG")
    stream = io.StringIO()
    config["handlers"]["json"]["stream"] = stream
    logger = logging.getLogger("test.logs")
    root_handlers = logging.root.handlers[:]
    try:
        logging.config.dictConfig(config)
        logger.warning("row for %s rejected", "kid@example.com", extra={"phone": "+12025550150", "n": 3})
        try:
            raise ValueError("duplicate mum@example.com")
        except ValueError:
            logger.exception("batch failed")
    finally:
        logging.root.handlers[:] = root_handlers
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "warning" and first["logger"] == "test.logs"
    assert first["message"] == "row for k***@example.com rejected"
    assert (first["phone"], first["n"]) == ("+12***50", 3)
    assert second["message"] == "batch failed"
    assert "ValueError: duplicate m***@example.com" in second["exception"]
    assert "mum@example.com" not in stream.getvalue()
