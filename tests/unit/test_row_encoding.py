"""The importer's row encoding: what reaches the topic for one source row."""

from __future__ import annotations

from processors.contact import ImportOptions
from processors.mapping import map_headers
from schemas.codec import loads
from streams.readers.table import SourceRow
from streams.row_encoding import EncodeContext, encode_row


def test_nul_in_a_cell_is_dropped_before_publishing() -> None:
    header = ("email", "first name")
    ctx = EncodeContext("o", "i", header, map_headers(header), ImportOptions())
    _line, key, value, rejection = encode_row(ctx, SourceRow(2, ["a@x.com", "Ann\x00e"]))
    assert rejection is None
    assert key == b"o|email|a@x.com"
    assert loads(value)["profile"]["first_name"] == "Anne"
