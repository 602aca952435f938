"""The importer's row rules and counts, through the dry run and a recording producer (no broker)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
import xlsxwriter

from processors.contact import ImportOptions
from processors.errors import InputFileError
from processors.mapping import map_headers
from schemas.codec import decode
from schemas.events import ImportCancelled, ImportSealed, ImportStarted, LeadImportRow
from streams.dry_run import DryRunReport, dry_run
from streams.importer import publish_import
from streams.normalize_pool import encoded_rows
from streams.readers import SourceRow, open_table
from streams.row_encoding import MAX_ROW_BYTES, EncodeContext
from streams.settings import Settings

HEADER = ["Record ID", "First Name", "Email Address", "Mobile Phone", "Lead Score"]
# (cells, what the importer makes of the row)
ROWS: list[tuple[list[str], str]] = [
    (["", "Ann", "ann@example.com", "+1 202 555 0101", "7"], "valid"),
    (["", "Bob", "bob@example.com", "not a phone", ""], "valid"),  # the bad phone stays profile data
    (["", "Ann again", " ANN@Example.com ", "", "9"], "repeat"),  # same primary identity as line 2
    (["", "Nobody", "not-an-email", "12", "1"], "no_valid_identity"),
    (["", "Phoneless", "jane@", "", ""], "no_valid_identity"),
    (["HS-9", "Only id", "", "", ""], "valid"),
    (["", "Wide", "wide@example.com", "", "", "extra"], "too_many_fields"),
    (["", "Zoë Short", "short@example.com"], "valid"),  # missing fields are empty
    (["HS-9", "Same id", "other@example.com", "", ""], "repeat"),  # ext:hubspot comes first
]
EXPECTED = {
    "rows": 9,
    "valid": 6,
    "rejected": {"no_valid_identity": 2, "too_many_fields": 1},
    "repeated_primary": 2,
}
OPTIONS = ImportOptions(default_region="US")


def counts(report: DryRunReport) -> dict[str, Any]:
    return {
        "rows": report.rows,
        "valid": report.valid,
        "rejected": report.rejected,
        "repeated_primary": report.repeated_primary,
    }


def run(path: Path, **kw: Any) -> DryRunReport:
    with open_table(path, **kw) as table:
        return dry_run(table, map_headers(table.header), options=OPTIONS, jobs=1)


def with_blank_lines(rows: list[list[str]]) -> list[list[str]]:
    out: list[list[str]] = []
    for i, row in enumerate(rows):
        out.append(row)
        if i % 3 == 1:
            out.append([])  # blank lines are neither rows nor counted
    return out


def write_csv(path: Path, delimiter: str, encoding: str, bom: bytes = b"", newline: str = "\r\n") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    writer.writerows(with_blank_lines([HEADER] + [r for r, _ in ROWS]))
    path.write_bytes(bom + buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Contacts")
    for i, row in enumerate(with_blank_lines([HEADER] + [r for r, _ in ROWS])):
        sheet.write_row(i, 0, row)
    book.close()
    return path


def write_jsonl(path: Path) -> Path:
    lines = []
    for cells, outcome in ROWS:
        if outcome == "too_many_fields":
            lines.append(orjson.dumps({**dict(zip(HEADER, cells, strict=False)), "Extra": "extra"}))
        else:
            lines.append(orjson.dumps(dict(zip(HEADER, cells, strict=False))))
        lines.append(b"")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


FORMATS = {
    "csv utf-8 comma": lambda p: write_csv(p / "c.csv", ",", "utf-8"),
    "csv utf-8 bom semicolon": lambda p: write_csv(p / "c.csv", ";", "utf-8", codecs.BOM_UTF8),
    "csv cp1252 semicolon": lambda p: write_csv(p / "c.csv", ";", "cp1252"),
    "csv latin-1 pipe": lambda p: write_csv(p / "c.csv", "|", "latin-1", newline="\n"),
    "tsv utf-16 bom (outlook)": lambda p: write_csv(p / "c.txt", "\t", "utf-16-le", codecs.BOM_UTF16_LE),
    "xlsx": lambda p: write_xlsx(p / "c.xlsx"),
    "jsonl": lambda p: write_jsonl(p / "c.jsonl"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_and_encoding_gives_the_same_counts(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JSON Lines take their header from the first lines: the "Extra" key comes after them
    monkeypatch.setattr("streams.readers.jsonl.HEADER_SCAN_LINES", 3)
    path = FORMATS[fmt](tmp_path)
    assert counts(run(path)) == EXPECTED
    gz = path.with_name(path.name + ".gz")
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert counts(run(gz)) == EXPECTED


def test_dry_run_shows_the_mapping_and_samples(tmp_path: Path) -> None:
    report = run(write_csv(tmp_path / "c.csv", ";", "cp1252"))
    assert report.mapping == {
        "Record ID": "ext:hubspot",
        "First Name": "first_name",
        "Email Address": "email",
        "Mobile Phone": "phone",
        "Lead Score": "attributes.lead_score",
    }
    assert (report.format, report.details) == ("csv", {"encoding": "cp1252", "delimiter": ";"})
    assert report.sample_rows[0] == {
        "line": 2,
        "identities": ["email:ann@example.com", "phone:+12025550101"],
        "profile": {"first_name": "Ann", "email": "ann@example.com", "phone": "+12025550101"},
        "attributes": {"lead_score": "7"},
    }
    # rejects keep the file's own values under its column names, with the file line
    assert report.sample_rejects == [
        {
            "line": 6,
            "reason": "no_valid_identity",
            "values": {
                "First Name": "Nobody",
                "Email Address": "not-an-email",
                "Mobile Phone": "12",
                "Lead Score": "1",
            },
        },
        {
            "line": 8,
            "reason": "no_valid_identity",
            "values": {"First Name": "Phoneless", "Email Address": "jane@"},
        },
        {
            "line": 10,
            "reason": "too_many_fields",
            "values": {"First Name": "Wide", "Email Address": "wide@example.com", "column 6": "extra"},
        },
    ]
    assert report.as_json()["rejected"] == {"no_valid_identity": 2, "too_many_fields": 1}


class RecordingProducer:
    """Stands in for the Kafka producer in unit tests: keeps what would be sent, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []
        self.flushes = 0

    def produce(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> None:
        self.sent.append((topic, value, key))

    def poll(self) -> None:
        pass

    def flush(self, timeout: float = 60.0) -> None:
        self.flushes += 1


def test_publish_announces_streams_in_file_order_and_seals_with_the_count(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ",", "utf-8")
    producer = RecordingProducer()
    settings = Settings()
    with open_table(path) as table:
        report = publish_import(
            table,
            map_headers(table.header),
            org_id="acme",
            options=OPTIONS,
            settings=settings,
            producer=producer,  # type: ignore[arg-type]
            import_id="imp-1",
        )
    assert (report.rows, report.valid, report.rejected) == (9, 6, EXPECTED["rejected"])
    topics = [t for t, _, _ in producer.sent]
    assert topics == [settings.topic_control] + [settings.topic_rows] * 9 + [settings.topic_control]
    started = decode(ImportStarted, producer.sent[0][1])
    assert started.options["mapping"] == [
        "Record ID=ext:hubspot",
        "First Name=first_name",
        "Email Address=email",
        "Mobile Phone=phone",
        "Lead Score=attributes.lead_score",
    ]
    rows = [decode(LeadImportRow, v) for _, v, _ in producer.sent[1:-1]]
    assert [r.row_number for r in rows] == [2, 4, 5, 6, 8, 9, 10, 12, 13]  # file lines, blank ones skipped
    assert [r.rejection for r in rows].count(None) == 6
    # the two rows about ann@example.com share a key, so they reach one partition in file order
    keys = [k for _, _, k in producer.sent[1:-1]]
    assert keys[0] == keys[2] == b"acme|email|ann@example.com"
    assert keys[5] == keys[8] == b"acme|ext:hubspot|HS-9"
    assert decode(ImportSealed, producer.sent[-1][1]).total_rows == 9


def test_a_file_that_breaks_mid_way_cancels_the_import(tmp_path: Path) -> None:
    producer = RecordingProducer()
    path = write_csv(tmp_path / "c.csv", ",", "utf-8")
    with open_table(path) as table:
        good = table.rows

        def breaking() -> Any:
            yield next(good)
            raise InputFileError("c.csv: line 3 cannot be read")

        table.rows = breaking()
        with pytest.raises(InputFileError, match="line 3"):
            publish_import(
                table,
                map_headers(table.header),
                org_id="acme",
                options=OPTIONS,
                settings=Settings(),
                producer=producer,  # type: ignore[arg-type]
                import_id="imp-2",
            )
    last = producer.sent[-1][1]
    assert decode(ImportCancelled, last).import_id == "imp-2"
    assert len(producer.sent) == 3  # started, one row, cancelled: never sealed


def test_a_row_too_large_for_kafka_is_rejected_not_fatal() -> None:
    ctx = EncodeContext("acme", "imp", ("Email", "Note"), map_headers(["Email", "Note"]), OPTIONS)
    rows = [SourceRow(2, ["a@x.com", "x" * MAX_ROW_BYTES]), SourceRow(3, ["b@x.com", "ok"])]
    encoded = list(encoded_rows(rows, ctx))
    assert [rejection for *_, rejection in encoded] == ["row_too_large", None]
    value = encoded[0][2]
    assert len(value) < 2000
    assert orjson.loads(value)["raw"] == {"Email": "a@x.com", "Note": "x" * 200}


def test_a_process_pool_encodes_exactly_what_one_process_does_in_the_same_order() -> None:
    header = ("Email", "Phone")
    ctx = EncodeContext("acme", "imp", header, map_headers(header), OPTIONS)
    rows = [SourceRow(i + 2, [f"u{i % 37}@x.com", f"+1 202 555 {i % 10000:04d}"]) for i in range(1000)]
    single = list(encoded_rows(rows, ctx, jobs=1))
    pooled = list(encoded_rows(rows, ctx, jobs=2, chunk_rows=64))
    assert pooled == single
    assert [line for line, *_ in pooled] == [r.line for r in rows]
