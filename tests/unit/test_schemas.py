"""The JSON Schema files other producers use agree with the event models."""

from __future__ import annotations

import json

import pytest

from processors.contact import ImportOptions, build_contact
from processors.mapping import map_headers
from schemas.codec import decode, dumps
from schemas.events import CONTRACTS, LeadImportRow
from schemas.generate import JSON_DIR, render
from streams.importer import import_row_payload


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_json_schema_file_matches_model(name: str) -> None:
    path = JSON_DIR / f"{name}.json"
    assert path.exists(), f"run `python -m schemas.generate`: {path.name} is missing"
    assert json.loads(path.read_text()) == json.loads(render(name)), (
        f"{path.name} is stale: run `python -m schemas.generate`"
    )


def test_every_model_is_frozen_and_versioned() -> None:
    for model in CONTRACTS.values():
        assert model.model_config.get("frozen") is True
        assert "schema_version" in model.model_fields


def test_importer_payload_validates_against_the_model() -> None:
    mapping = map_headers(["Email", "Phone", "First Name", "Score"])
    contact = build_contact(["A@X.com", "+33 6 12 34 56 78", "Ann", "7"], mapping, ImportOptions())
    payload = import_row_payload(
        org_id="o", import_id="i", row_number=2, contact=contact, options=ImportOptions(), raw=None
    )
    event = decode(LeadImportRow, dumps(payload))
    assert event.identities[0].identifier == "a@x.com"
    assert event.attributes == {"score": "7"}
