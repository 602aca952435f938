"""Every input format, encoding and row rule of the readers, on files the tests write."""

from __future__ import annotations

import codecs
import gzip
import io
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from processors.errors import InputFileError
from streams.readers import SourceRow, open_table, sniff_delimiter
from streams.readers.source import SAMPLE_BYTES

HEADER = ["Email", "Phone", "Name"]


def read(path: Path | str, **kw: str) -> tuple[list[str], list[SourceRow], dict[str, str], str]:
    with open_table(path, **kw) as table:
        rows = list(table.rows)
        return table.header, rows, table.details, table.format


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def lines_and_cells(rows: list[SourceRow]) -> list[tuple[int, list[str]]]:
    return [(r.line, r.cells) for r in rows]


# -- delimiters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [HEADER, ["a@x.com", "+33 6 12 34 56 78", "Ann"], ["b@x.com", "", "Bob"]]
    path = write(tmp_path / "f.csv", "\n".join(delimiter.join(r) for r in rows) + "\n")
    header, read_rows, details, fmt = read(path)
    assert (header, details["delimiter"], fmt) == (HEADER, delimiter, "csv")
    assert lines_and_cells(read_rows) == [(2, rows[1]), (3, rows[2])]


def test_sniffing_prefers_the_delimiter_that_makes_rows_as_wide_as_the_header() -> None:
    # decimal commas in a European file must not win over the semicolons
    sample = "Name;Score;Email\nAnn;1,5;a@x.com\nBob;2,25;b@x.com\n"
    assert sniff_delimiter(sample) == ";"
    assert sniff_delimiter("Email\na@x.com\n") == ","  # one column: any delimiter, comma by default


def test_delimiter_option_overrides_the_sniffer(tmp_path: Path) -> None:
    path = write(tmp_path / "f.txt", "Email|Name,Title\na@x.com|Ann,CEO\n")
    assert read(path)[0] == ["Email|Name", "Title"]
    header, rows, details, _ = read(path, delimiter="|")
    assert (header, rows[0].cells, details["delimiter"]) == (
        ["Email", "Name,Title"],
        ["a@x.com", "Ann,CEO"],
        "|",
    )
    assert read(write(tmp_path / "t.txt", "a\tb\n1\t2\n"), delimiter="tab")[0] == ["a", "b"]
    with pytest.raises(InputFileError, match="one character"):
        read(path, delimiter=";;")


def test_quoted_fields_hold_delimiters_newlines_and_quotes(tmp_path: Path) -> None:
    text = 'Email,Note,Name\r\na@x.com,"one, two","multi\r\nline ""quoted"""\r\nb@x.com,plain,Bob\r\n'
    _, rows, _, _ = read(write(tmp_path / "q.csv", text))
    assert lines_and_cells(rows) == [
        (2, ["a@x.com", "one, two", 'multi\r\nline "quoted"']),
        (4, ["b@x.com", "plain", "Bob"]),  # the line numbers count physical lines
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_any_line_ending(tmp_path: Path, newline: str) -> None:
    path = write(tmp_path / "n.csv", newline.join(["Email,Name", "a@x.com,Ann", "b@x.com,Bob"]) + newline)
    assert [r.cells for r in read(path)[1]] == [["a@x.com", "Ann"], ["b@x.com", "Bob"]]


# -- encodings -----------------------------------------------------------------------------------

TEXT = "Prénom;Email;Ville\nJosé;jose@exämple.fr;Zürich\nFrançoise;f@x.fr;Besançon\n"
CELLS = [["José", "jose@exämple.fr", "Zürich"], ["Françoise", "f@x.fr", "Besançon"]]


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("utf-16-le", b"", "utf-16-le"),  # no BOM: told by the NUL bytes
        ("cp1252", b"", "cp1252"),
        ("latin-1", b"", "cp1252"),  # the same letters; cp1252 reads latin-1 text of Western Europe
    ],
)
def test_encoding_is_detected(tmp_path: Path, encoding: str, bom: bytes, detected: str) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(bom + TEXT.encode(encoding))
    header, rows, details, _ = read(path)
    assert header == ["Prénom", "Email", "Ville"]
    assert [r.cells for r in rows] == CELLS
    assert details["encoding"] == detected


def test_utf16_tab_separated_outlook_export(tmp_path: Path) -> None:
    text = "First Name\tLast Name\tE-mail Address\r\nAnn\tLée\tann@x.com\r\n"
    path = tmp_path / "outlook.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    header, rows, details, _ = read(path)
    assert header == ["First Name", "Last Name", "E-mail Address"]
    assert rows[0].cells == ["Ann", "Lée", "ann@x.com"]
    assert details == {"encoding": "utf-16", "delimiter": "\t"}


def test_cp1252_specific_characters_and_undefined_bytes(tmp_path: Path) -> None:
    # € and \u2019 exist in cp1252, not in latin-1; 0x81 is undefined in cp1252 and read as latin-1
    path = tmp_path / "w.csv"
    path.write_bytes("Name;Note\nAnn;5 € l\u2019an\n".encode("cp1252") + b"Bob;x\x81y\n")
    _, rows, details, _ = read(path)
    assert details["encoding"] == "cp1252"
    assert [r.cells for r in rows] == [["Ann", "5 € l\u2019an"], ["Bob", "x\x81y"]]


def test_bytes_past_the_sample_that_are_not_utf8_do_not_stop_the_file(tmp_path: Path) -> None:
    # detected as UTF-8 from the first bytes; a cp1252 row glued on later is read, not fatal
    filler = "".join(f"u{i}@x.com,Ann\n" for i in range(SAMPLE_BYTES // 12 + 10))
    path = tmp_path / "mixed.csv"
    path.write_bytes(("Email,Name\n" + filler).encode() + "late@x.com,José\n".encode("cp1252"))
    _, rows, details, _ = read(path)
    assert details["encoding"] == "utf-8"
    assert rows[-1].cells == ["late@x.com", "José"]


def test_encoding_option_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_bytes("Имя,Email\nАнна,a@x.ru\n".encode("koi8-r"))  # noqa: RUF001
    assert read(path, encoding="koi8-r")[1][0].cells == ["Анна", "a@x.ru"]
    assert read(path)[0] != ["Имя", "Email"]  # detection alone cannot tell koi8-r from cp1252


def test_a_wrong_encoding_option_fails_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes("Name\nJosé\n".encode("cp1252"))
    with pytest.raises(InputFileError, match=r"not utf-8 text: byte 0xe9 .* looks like cp1252"):
        open_table(path, encoding="utf-8")
    with pytest.raises(InputFileError, match="unknown encoding"):
        open_table(path, encoding="klingon")


def test_explicit_utf8_on_a_file_with_bom_does_not_keep_the_bom(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"Email,Name\na@x.com,Ann\n")
    assert read(path, encoding="utf-8")[0] == ["Email", "Name"]


# -- row rules -----------------------------------------------------------------------------------


def test_blank_lines_are_ignored_and_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    text = "\n\nEmail,Phone,Name\n\na@x.com,1,Ann\n,,\n   \n\nb@x.com,2,Bob\n\n"
    header, rows, _, _ = read(write(tmp_path / "b.csv", text))
    assert header == HEADER
    assert lines_and_cells(rows) == [(5, ["a@x.com", "1", "Ann"]), (9, ["b@x.com", "2", "Bob"])]


def test_a_stray_nul_byte_is_a_character_not_a_reason_to_refuse_the_file(tmp_path: Path) -> None:
    _, rows, _, _ = read(write(tmp_path / "n.csv", "Email,Name\na@x.com,A\x00nn\n"))
    assert rows[0].cells == ["a@x.com", "A\x00nn"]


def test_ragged_rows_come_as_they_are(tmp_path: Path) -> None:
    # the reader keeps ragged rows; the importer rejects the long ones and pads the short ones
    text = "Email,Phone,Name\na@x.com\nb@x.com,2,Bob,extra\n"
    _, rows, _, _ = read(write(tmp_path / "r.csv", text))
    assert [r.cells for r in rows] == [["a@x.com"], ["b@x.com", "2", "Bob", "extra"]]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Email,,Name", "column 2 of the header has no name"),
        ("Email,Name,  ", "column 3 of the header has no name"),
        ("Email,Name,email", r"column 'email' appears twice in the header \(column 1 and column 3\)"),
        ("Email, Name ,Name", r"column 'Name' appears twice"),
    ],
)
def test_empty_or_repeated_header_names_fail_naming_the_column(
    tmp_path: Path, header: str, message: str
) -> None:
    with pytest.raises(InputFileError, match=message):
        open_table(write(tmp_path / "h.csv", header + "\na,b,c\n"))


def test_an_unclosed_quote_fails_with_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", 'Email,Note\na@x.com,"' + "x" * (1 << 20) + "\nb@x.com,y\n")
    with open_table(path) as table, pytest.raises(InputFileError, match="line 2 cannot be read"):
        list(table.rows)


# -- not a table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\r\n  \n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a PNG image, not a table"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "is a PDF document, not a table"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00", "binary data, not a table"),
        (b"<!DOCTYPE html>\n<html><body>hi</body></html>\n", "is an HTML page, not a table"),
        (b'[{"email": "a@x.com"}]\n', "is an array: a JSON document"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable gzip file"),
    ],
)
def test_a_file_that_is_not_a_table_fails_with_one_clear_message(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        open_table(path)


def test_a_zip_that_is_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "contacts.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("contacts.csv", "Email\na@x.com\n")
    with pytest.raises(InputFileError, match="not a readable spreadsheet"):
        open_table(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        open_table(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="is a directory"):
        open_table(tmp_path)


# -- spreadsheets --------------------------------------------------------------------------------


def make_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    other = book.add_worksheet("Notes")
    other.write_row(0, 0, ["Note"])
    other.write_row(1, 0, ["not contacts"])
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(2, 1, ["Email", "Mobile", "Score", "Joined", "VIP", "Total"])  # starts at B3
    sheet.write_row(3, 1, ["a@x.com", 33612345678, 1.5])
    sheet.write_datetime(
        3, 4, __import__("datetime").datetime(2024, 5, 6), book.add_format({"num_format": "yyyy-mm-dd"})
    )
    sheet.write_boolean(3, 5, True)
    sheet.write_formula(3, 6, "=D4*2", None, 3)  # a formula cell: its computed value is read
    sheet.write_row(5, 1, ["b@x.com", "+1 202 555 0101"])  # row 5 is blank
    sheet.write_formula(6, 1, '="=HYPERLINK(""x"")"', None, '=HYPERLINK("x")')
    sheet.write_row(7, 1, ["c@x.com", "", "", "", "", "", "", "extra"])
    book.close()
    return path


def test_xlsx_reads_the_first_sheet_with_sheet_row_numbers(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "c.xlsx")
    header, rows, details, fmt = read(path, sheet="Contacts")
    assert (header, details, fmt) == (
        ["Email", "Mobile", "Score", "Joined", "VIP", "Total"],
        {"sheet": "Contacts"},
        "xlsx",
    )
    assert lines_and_cells(rows) == [
        (4, ["a@x.com", "33612345678", "1.5", "2024-05-06", "true", "3"]),
        (6, ["b@x.com", "+1 202 555 0101"]),
        (7, ['=HYPERLINK("x")']),
        (8, ["c@x.com", "", "", "", "", "", "", "extra"]),
    ]
    assert read(path)[0] == ["Note"]  # no --sheet: the first sheet
    assert read(path, sheet="2")[0] == header  # --sheet by number
    with pytest.raises(InputFileError, match=r"has no sheet 'People'; its sheets: 'Notes', 'Contacts'"):
        open_table(path, sheet="People")


def test_xlsx_header_problems_name_the_sheet_column(tmp_path: Path) -> None:
    path = tmp_path / "h.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("S").write_row(0, 1, ["Email", "", "Name"])
    book.close()
    with pytest.raises(InputFileError, match=r"sheet 'S'\): column C of the header has no name"):
        open_table(path)
    empty = tmp_path / "empty.xlsx"
    book = xlsxwriter.Workbook(str(empty))
    book.add_worksheet("S")
    book.close()
    with pytest.raises(InputFileError, match="is empty: no header row"):
        open_table(empty)


# -- JSON Lines ----------------------------------------------------------------------------------


def test_jsonl_header_is_the_keys_in_order_and_bad_lines_are_rows_rejected(tmp_path: Path) -> None:
    text = (
        '{"email": "a@x.com", "score": 1.0, "vip": true}\n'
        "\n"
        '{"email": "b@x.com", "tags": ["x", "y"], "phone": 33612345678, "score": null}\r\n'
        "{not json\n"
        "[1, 2]\n"
    )
    header, rows, details, fmt = read(write(tmp_path / "c.jsonl", text))
    assert (header, fmt, details) == (
        ["email", "score", "vip", "tags", "phone"],
        "jsonl",
        {"encoding": "utf-8"},
    )
    assert [(r.line, r.cells, r.rejection, r.raw) for r in rows] == [
        (1, ["a@x.com", "1", "true", "", ""], None, None),
        (3, ["b@x.com", "", "", '["x","y"]', "33612345678"], None, None),
        (4, [], "invalid_json", {"raw_line": "{not json"}),
        (5, [], "not_an_object", {"raw_line": "[1, 2]"}),
    ]


def test_jsonl_keys_first_seen_late_make_the_row_too_wide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streams.readers.jsonl.HEADER_SCAN_LINES", 2)
    text = '{"email": "a@x.com"}\n{"email": "b@x.com"}\n{"email": "c@x.com", "late": "v"}\n'
    header, rows, _, _ = read(write(tmp_path / "late.ndjson", text))
    assert header == ["email"]
    assert (rows[2].rejection, rows[2].raw) == ("too_many_fields", {"email": "c@x.com", "late": "v"})


def test_jsonl_first_line_must_be_an_object(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not JSON Lines"):
        open_table(write(tmp_path / "c.jsonl", "email\na@x.com\n"))


# -- compression and stdin -----------------------------------------------------------------------


def test_gzip_of_each_format(tmp_path: Path) -> None:
    csv_gz = tmp_path / "c.csv.gz"
    csv_gz.write_bytes(gzip.compress("Email;Name\na@x.com;Ann\n".encode("cp1252")))
    header, rows, details, fmt = read(csv_gz)
    assert (header, rows[0].cells, fmt, details["delimiter"]) == (
        ["Email", "Name"],
        ["a@x.com", "Ann"],
        "csv.gz",
        ";",
    )

    jsonl_gz = tmp_path / "c.jsonl.gz"
    jsonl_gz.write_bytes(gzip.compress(b'{"email": "a@x.com"}\n'))
    assert read(jsonl_gz)[1][0].cells == ["a@x.com"]
    assert read(jsonl_gz)[3] == "jsonl.gz"

    xlsx_gz = tmp_path / "c.xlsx.gz"
    xlsx_gz.write_bytes(gzip.compress(make_xlsx(tmp_path / "c.xlsx").read_bytes()))
    assert read(xlsx_gz, sheet="Contacts")[1][0].line == 4


def test_a_gzip_file_cut_short_fails_as_a_bad_file(tmp_path: Path) -> None:
    body = "Email,Name\n" + "".join(f"user{i}@example.com,{i * 7919 % 104729}\n" for i in range(100_000))
    data = gzip.compress(body.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with (
        open_table(path) as table,
        pytest.raises(InputFileError, match=r"cut\.csv\.gz cannot be read to its end"),
    ):
        list(table.rows)


def test_progress_position_counts_compressed_bytes(tmp_path: Path) -> None:
    body = "Email,Name\n" + "".join(f"user{i}@example.com,Name {i}\n" for i in range(50_000))
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(body.encode()))
    with open_table(path) as table:
        assert table.size == path.stat().st_size
        assert sum(1 for _ in table.rows) == 50_000
        assert table.position() == table.size


def test_dash_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = codecs.BOM_UTF16_LE + "Email\tName\na@x.com\tAnn\n".encode("utf-16-le")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    header, rows, details, _ = read("-")
    assert (header, rows[0].cells, details["encoding"]) == (["Email", "Name"], ["a@x.com", "Ann"], "utf-16")


def test_stdin_may_carry_a_gzipped_spreadsheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(make_xlsx(tmp_path / "c.xlsx").read_bytes())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with open_table("-", sheet="Contacts") as table:
        assert (table.name, table.size, len(list(table.rows))) == ("stdin", 8, 4)
