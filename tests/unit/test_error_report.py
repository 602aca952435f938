"""The error report's CSV: line, reason, leads, the original values, escaped against formulas."""

from __future__ import annotations

import csv
import io

import pytest

from streams.error_report import ReportLayout, ReportSummary, escape_cell, write_rows

MAPPING = [
    "Email Address=email",
    "Mobile Phone=phone",
    "First Name=first_name",
    "Lead Score=attributes.lead_score",
    "Notes=attributes.notes",
]


@pytest.mark.parametrize(
    ("cell", "escaped"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1 202 555 0101", "'+1 202 555 0101"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("plain", "plain"),
        ("", ""),
        (" =not first", " =not first"),
    ],
)
def test_formula_cells_are_escaped(cell: str, escaped: str) -> None:
    assert escape_cell(cell) == escaped


def report(rows: list[tuple[object, ...]], keys: list[str], mapping: list[str] = MAPPING) -> list[list[str]]:
    out = io.StringIO()
    summary = write_rows(out, ReportLayout.of(mapping, keys), rows, ReportSummary("acme", "imp"))  # type: ignore[arg-type]
    parsed = list(csv.reader(io.StringIO(out.getvalue())))
    assert summary.rows == len(parsed) - 1
    return parsed


def test_rejected_rows_keep_their_cells_and_conflicts_map_fields_back_to_columns() -> None:
    rows = [
        # importer-side reject: the file's cells under the file's column names
        (3, "rejected", "no_valid_identity", None, None, None, {"Email Address": "jane@", "Notes": "=1+1"}),
        # too many fields: the cell past the header is its own column
        (5, "rejected", "too_many_fields", None, None, None, {"Email Address": "w@x.com", "column 6": "x"}),
        # a conflict: the worker kept the lead fields the row set; the mapping names their columns
        (
            7,
            "created",
            None,
            42,
            "identity_conflict:phone;identity_conflict:sms",
            "17",
            {"email": "kid@x.com", "phone": "+12025550150", "first_name": "Kid", "lead_score": "-3"},
        ),
    ]
    parsed = report(
        rows, ["Email Address", "Notes", "column 6", "email", "phone", "first_name", "lead_score"]
    )
    assert parsed == [
        [
            "line",
            "reason",
            "lead_id",
            "owner_lead_id",
            "Email Address",
            "Mobile Phone",
            "First Name",
            "Lead Score",
            "Notes",
            "column 6",
        ],
        ["3", "no_valid_identity", "", "", "jane@", "", "", "", "'=1+1", ""],
        ["5", "too_many_fields", "", "", "w@x.com", "", "", "", "", "x"],
        [
            "7",
            "identity_conflict:phone;identity_conflict:sms",
            "42",
            "17",
            "kid@x.com",
            "'+12025550150",
            "Kid",
            "'-3",
            "",
            "",
        ],
    ]


def test_column_names_from_the_file_are_escaped_too() -> None:
    parsed = report([(2, "rejected", "x", None, None, None, {"=cmd()": "v"})], ["=cmd()"], ["=cmd()=email"])
    assert parsed[0][4] == "'=cmd()"
    assert parsed[1][4] == "v"


def test_an_import_without_a_mapping_lists_the_keys_it_finds() -> None:
    parsed = report([(2, "rejected", "not_found", None, None, None, {"b": "2", "a": "1"})], ["b", "a"], [])
    assert parsed == [
        ["line", "reason", "lead_id", "owner_lead_id", "a", "b"],
        ["2", "not_found", "", "", "1", "2"],
    ]
