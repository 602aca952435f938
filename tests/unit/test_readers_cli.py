"""`leadstream import --dry-run`, mapping files, clear failures, and the progress display."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from streams.cli import app
from streams.progress import ImportProgress

runner = CliRunner()
CSV = (
    "Record ID;Prénom;E-mail Address;Mobile Phone;Lead Score\r\n"
    "1;José;jose@example.com;+33 6 12 34 56 78;=1+2\r\n"
    "2;Zoë;not-an-email;12;5\r\n"
    "\r\n"
    "3;Ann;ann@example.com;;\r\n"
)


def contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_bytes(CSV.encode("cp1252"))
    return path


def test_dry_run_prints_the_mapping_and_counts_as_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(contacts(tmp_path)), "--org", "acme", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mapping"] == {
        "Record ID": "ext:hubspot",
        "Prénom": "attributes.prenom",
        "E-mail Address": "email",
        "Mobile Phone": "phone",
        "Lead Score": "attributes.lead_score",
    }
    assert (report["encoding"], report["delimiter"]) == ("cp1252", ";")
    assert (report["rows"], report["valid"], report["rejected"]) == (3, 3, {})
    assert report["sample_rows"][1]["identities"] == ["ext:hubspot:2"]


def test_a_mapping_file_is_saved_on_first_use_and_reused_after(tmp_path: Path) -> None:
    saved = tmp_path / "hubspot.toml"
    path = str(contacts(tmp_path))
    first = runner.invoke(
        app,
        [
            "import", path, "--org", "acme", "--dry-run", "--json", "--mapping", str(saved),
            "--map", "Record ID=ignore", "--map", "prénom=first_name",
        ],
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    assert f"mapping saved to {saved}" in first.stderr
    assert '"Record ID" = "ignore"' in saved.read_text()
    again = runner.invoke(
        app, ["import", path, "--org", "acme", "--dry-run", "--json", "--mapping", str(saved)]
    )
    assert again.exit_code == 0, again.output
    assert "saved" not in again.stderr
    report = json.loads(again.stdout)
    assert report["mapping"]["Record ID"] == "ignore"
    assert report["mapping"]["Prénom"] == "first_name"
    # without the id column the second row has no identity left
    assert report["rejected"] == {"no_valid_identity": 1}
    # --map still wins over the file, and --save-mapping rewrites it
    third = runner.invoke(
        app,
        [
            "import", path, "--org", "acme", "--dry-run", "--json", "--mapping", str(saved),
            "--map", "Record ID=external_id", "--save-mapping", str(saved),
        ],
    )  # fmt: skip
    assert json.loads(third.stdout)["mapping"]["Record ID"] == "ext:crm"
    assert '"Record ID" = "ext:crm"' in saved.read_text()


def test_a_map_naming_a_missing_column_fails(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["import", str(contacts(tmp_path)), "--org", "a", "--dry-run", "--map", "Phnoe=phone"]
    )
    assert result.exit_code == 1
    assert "--map names columns the file does not have: 'Phnoe'" in result.stderr


def test_bad_map_target_and_bad_mapping_file_fail(tmp_path: Path) -> None:
    path = str(contacts(tmp_path))
    bad = runner.invoke(app, ["import", path, "--org", "a", "--dry-run", "--map", "Prénom=firstname"])
    assert bad.exit_code == 1 and "unknown field 'firstname'" in bad.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text('[columns]\n"Prénom" = "emial"\n')
    refused = runner.invoke(app, ["import", path, "--org", "a", "--dry-run", "--mapping", str(broken)])
    assert refused.exit_code == 1 and "unknown field 'emial'" in refused.stderr


def test_a_file_that_is_not_a_table_fails_before_anything_is_published(tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    # no --dry-run: it would publish, but it fails before it needs Kafka
    result = runner.invoke(app, ["import", str(path), "--org", "a"])
    assert result.exit_code == 1
    assert "photo.csv is a PNG image, not a table" in result.stderr


def test_plain_progress_prints_a_line_every_few_seconds() -> None:
    out = io.StringIO()
    now = [0.0]
    position = [0]
    progress = ImportProgress(
        Console(file=out, width=200), "import", lambda: position[0], 1000, every_s=5, clock=lambda: now[0]
    )
    with progress:
        for second in range(1, 12):
            now[0], position[0] = float(second), second * 50
            progress(second * 2000)
    lines = out.getvalue().splitlines()
    assert lines == [
        "import: 10,000 rows, 2,000 rows/s, 25% of the file, ETA 0:00:15",
        "import: 20,000 rows, 2,000 rows/s, 50% of the file, ETA 0:00:10",
    ]


def test_a_terminal_gets_a_rich_bar_with_rows_rate_and_eta() -> None:
    out = io.StringIO()
    now = [0.0]
    console = Console(file=out, force_terminal=True, width=150)
    with ImportProgress(console, "import", lambda: 500, 1000, clock=lambda: now[0]) as progress:
        now[0] = 2.0
        progress(40_000)
    text = out.getvalue()
    assert "40,000 rows" in text and "20,000 rows/s" in text and "50%" in text and "ETA" in text


def test_stdin_without_size_shows_rows_without_eta() -> None:
    out = io.StringIO()
    now = [0.0]
    progress = ImportProgress(Console(file=out), "import", lambda: 10, None, every_s=1, clock=lambda: now[0])
    now[0] = 2.0
    progress(300)
    assert out.getvalue() == "import: 300 rows, 150 rows/s\n"
