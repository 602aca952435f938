"""Normalising emails, phones and external ids; mapping headers; building contacts."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.contact import ImportOptions, build_contact, partition_key
from processors.mapping import map_headers
from processors.model import Identity
from processors.normalize import normalize_email, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("a..b@x.com", None),
        ("x@localhost", None),
        ("x@foo.test", None),
        ("not-an-email", None),
        ("", None),
        ("ünï@exämple.de", "ünï@exämple.de"),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def _reference(candidate: str) -> str | None:
    try:
        return validate_email(candidate.strip().lower(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


@settings(max_examples=400, deadline=None)
@given(st.emails() | st.from_regex(r"[a-zA-Z0-9._%+\-]{0,20}@[a-zA-Z0-9.\-]{0,20}", fullmatch=True))
def test_fast_email_path_agrees_with_email_validator(candidate: str) -> None:
    normalize_email.cache_clear()
    assert normalize_email(candidate) == _reference(candidate)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(202) 555-0101", "US", "+12025550101"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06 12 34 56 78", "US", None),
        ("12", "US", None),
    ],
)
def test_normalize_phone(raw: str, region: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


def test_contact_identities_follow_match_order_and_invalid_values_stay_profile() -> None:
    mapping = map_headers(["E-mail 1 - Value", "Mobile Phone", "Record ID", "Given Name", "Tier"])
    contact = build_contact(
        ["BAD-EMAIL", "202 555 0101", " 991 ", "Ann", "gold"],
        mapping,
        ImportOptions(default_region="US", phone_channels=("whatsapp", "sms")),
    )
    assert contact.identities == (
        Identity("ext:hubspot", "991"),
        Identity("whatsapp", "+12025550101"),
        Identity("sms", "+12025550101"),
    )
    assert contact.profile == {"email": "BAD-EMAIL", "phone": "+12025550101", "first_name": "Ann"}
    assert contact.attributes == {"tier": "gold"}
    assert partition_key("o", contact.primary, "x") == b"o|ext:hubspot|991"


def test_row_without_valid_identity_is_rejected() -> None:
    contact = build_contact(["nope", "12"], map_headers(["email", "phone"]), ImportOptions())
    assert contact.rejection == "no_valid_identity"
    assert contact.profile == {"email": "nope", "phone": "12"}
