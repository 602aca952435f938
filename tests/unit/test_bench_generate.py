"""The benchmark's CRM export is deterministic and has the defects the issue asks for."""

from __future__ import annotations

import csv
from pathlib import Path

from bench.generate import HEADER, generate
from processors.contact import ImportOptions, build_contact
from processors.mapping import map_headers


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    a = generate(tmp_path / "a.csv", 3000, seed=7)
    b = generate(tmp_path / "b.csv", 3000, seed=7)
    c = generate(tmp_path / "c.csv", 3000, seed=8)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.path.read_bytes() != c.path.read_bytes()
    assert a.kinds == b.kinds


def test_rows_have_the_shares_of_duplicates_shared_phones_and_bad_values(tmp_path: Path) -> None:
    export = generate(tmp_path / "x.csv", 20_000)
    with export.path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER and len(rows) == 20_001
    share = {k: n / 20_000 for k, n in export.kinds.items()}
    assert 0.09 < share["repeat"] < 0.11
    assert 0.025 < share["shared_phone"] < 0.035
    assert 0.04 < share["bad_email"] + share["bad_phone"] + share["bad_both"] < 0.06
    assert any(not cell.isascii() for row in rows[1:200] for cell in row[:2])  # unicode names

    # Through the importer's own rules: repeats and shared phones meet on one identity, bad rows
    # reject, custom columns become attributes.
    mapping = map_headers(rows[0])
    options = ImportOptions(default_region="US")
    contacts = [build_contact(r, mapping, options) for r in rows[1:]]
    primaries = [c.primary for c in contacts if c.primary is not None]
    phones = [i for c in contacts for i in c.identities if i.channel == "phone"]
    rejected = sum(c.rejection is not None for c in contacts)
    assert len(primaries) - len(set(primaries)) > 0.08 * 20_000  # repeats in other case/format
    assert len(phones) - len(set(phones)) > 0.04 * 20_000  # shared phones and repeated ones
    assert 0.005 < rejected / 20_000 < 0.015  # rows with neither a valid email nor phone
    assert set(contacts[0].attributes) == {"lead_score", "plan", "signup_date"}
