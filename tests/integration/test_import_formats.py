"""Small files of every format go through the real broker and worker; the error report covers them."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
from pathlib import Path

import xlsxwriter

from tests.integration.harness import Stack
from tests.integration.ops_cli import run_cli

ORG = "fmt"


def write_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(0, 0, ["Record ID", "First Name", "Email", "Phone Number", "Lead Score"])
    sheet.write_row(1, 0, ["HS1", "Mum", "mum@example.com", "+1 202 555 0150", 5])
    sheet.write_row(2, 0, ["HS2", "Kid", "kid@example.com", "(202) 555-0150"])
    sheet.write_formula(2, 4, '="="&"cmd()"', None, "=cmd()")  # a formula whose value looks like one
    sheet.write_row(3, 0, ["", "Nobody", "not-an-email", "12", -1])
    sheet.write_row(5, 0, ["HS1", "Mum", "MUM@example.com"])  # row 5 is blank; same primary as row 2
    book.close()
    return path


def write_cp1252_gz(path: Path) -> Path:
    text = (
        "Prénom;E-mail;Mobile\r\n"
        "José;jose@example.com;+1 202 555 0199\r\n"
        "Bad;@;\r\n"
        "Wide;w@example.com;1;extra\r\n"
    )
    path.write_bytes(gzip.compress(text.encode("cp1252")))
    return path


def write_jsonl(path: Path) -> Path:
    path.write_text('{"email": "mum@example.com", "city": "Lisbon"}\n\n{"email": "z@example.com"}\n{bad\n')
    return path


def write_utf16(path: Path) -> Path:
    text = "First Name\tE-mail Address\r\nAnn\tann@example.com\r\nBo\tbo@example.com\r\n"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    return path


def counts(stack: Stack, import_id: str) -> tuple[int | None, dict[str, int]]:
    s = stack.wait_import(import_id)
    assert s.status == "completed", s
    return s.total_rows, {k: v for k, v in s.counts.items() if v}


def error_rows(stack: Stack, import_id: str, out: Path) -> list[list[str]]:
    done = run_cli(stack, "imports", "errors", import_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    return list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))


def test_every_format_imports_and_the_error_report_covers_rejects_and_conflicts(
    stack: Stack, tmp_path: Path
) -> None:
    stack.start_worker()
    xlsx = stack.publish_file(write_xlsx(tmp_path / "hubspot.xlsx"), ORG, default_region="US")
    assert counts(stack, xlsx.import_id) == (4, {"created": 2, "unchanged": 1, "rejected": 1, "conflicts": 1})

    euro = stack.publish_file(write_cp1252_gz(tmp_path / "euro.csv.gz"), ORG, default_region="US")
    assert (euro.rows, euro.rejected) == (3, {"no_valid_identity": 1, "too_many_fields": 1})
    assert counts(stack, euro.import_id) == (3, {"created": 1, "rejected": 2})

    jsonl = stack.publish_file(write_jsonl(tmp_path / "more.jsonl"), ORG)
    assert counts(stack, jsonl.import_id) == (3, {"created": 1, "updated": 1, "rejected": 1})
    assert stack.scalar("SELECT city FROM leads WHERE email = 'mum@example.com'") == "Lisbon"

    cli = run_cli(
        stack,
        "import",
        str(write_utf16(tmp_path / "outlook.txt")),
        "--org",
        ORG,
        "--wait",
        "--json",
        "--quiet",
    )
    assert cli.returncode == 0, cli.stderr
    done = json.loads(cli.stdout)
    assert (done["status"], done["rows"], done["created"]) == ("completed", 2, 2)
    assert stack.scalar("SELECT count(*) FROM leads WHERE org_id = %s", (ORG,)) == 6

    mum, kid = (
        stack.scalar("SELECT lead_id FROM leads WHERE org_id = %s AND first_name = %s", (ORG, name))
        for name in ("Mum", "Kid")
    )
    header, *rows = error_rows(stack, xlsx.import_id, tmp_path / "hubspot-errors.csv")
    assert header[:4] == ["line", "reason", "lead_id", "owner_lead_id"]
    assert header[4:] == ["Record ID", "First Name", "Email", "Phone Number", "Lead Score"]
    # the conflict: the row's lead, the lead owning the phone, and the row's values as the worker
    # stored them for the lead (normalised; the worker keeps no identity, so no Record ID)
    conflict = ["3", "identity_conflict:phone", str(kid), str(mum), "", "Kid", "kid@example.com"]
    assert rows == [
        [*conflict, "'+12025550150", "'=cmd()"],
        ["4", "no_valid_identity", "", "", "", "Nobody", "not-an-email", "12", "'-1"],
    ]
    header, *rows = error_rows(stack, euro.import_id, tmp_path / "euro-errors.csv")
    assert header == ["line", "reason", "lead_id", "owner_lead_id", "Prénom", "E-mail", "Mobile", "column 4"]
    assert rows == [
        ["3", "no_valid_identity", "", "", "Bad", "'@", "", ""],  # "@" starts a formula: escaped
        ["4", "too_many_fields", "", "", "Wide", "w@example.com", "1", "extra"],
    ]
