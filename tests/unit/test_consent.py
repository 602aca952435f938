"""A consent column opts the row's identities out; blank or a clear "no" keeps consent."""

from __future__ import annotations

import pytest

from processors.contact import ImportOptions, build_contact
from processors.mapping import OPTED_OUT, map_headers, parse_overrides
from processors.model import Identity

US = ImportOptions(default_region="US", phone_channels=("phone", "whatsapp"))


@pytest.mark.parametrize("header", ["Opted Out", "opt-out", "Unsubscribed", "UNSUBSCRIBE", "Do Not Contact"])
def test_consent_headers_map_to_opted_out(header: str) -> None:
    assert map_headers(["Email", header]).targets == ("email", OPTED_OUT)


def test_a_channel_specific_column_is_mapped_explicitly() -> None:
    assert map_headers(["Email Opt Out"]).targets != (OPTED_OUT,)
    overrides = parse_overrides(["Email Opt Out=opted_out"])
    assert map_headers(["Email Opt Out"], overrides).targets == (OPTED_OUT,)


@pytest.mark.parametrize("cell", ["yes", "Y", "TRUE", "1", "x", "2024-03-01", "Unsubscribed"])
def test_any_other_value_opts_every_identity_of_the_row_out(cell: str) -> None:
    mapping = map_headers(["Email", "Phone", "Unsubscribed"])
    contact = build_contact(["A@X.com", "(202) 555-0101", cell], mapping, US)
    assert (
        contact.opted_out
        == contact.identities
        == (
            Identity("email", "a@x.com"),
            Identity("phone", "+12025550101"),
            Identity("whatsapp", "+12025550101"),
        )
    )


@pytest.mark.parametrize("cell", ["", "  ", "no", "N", "false", "0", "off", "Subscribed", "opted in"])
def test_blank_or_a_clear_no_keeps_consent(cell: str) -> None:
    mapping = map_headers(["Email", "Opted Out"])
    contact = build_contact(["a@x.com", cell], mapping, US)
    assert contact.identities and contact.opted_out == ()


def test_the_consent_column_is_neither_profile_nor_attribute() -> None:
    contact = build_contact(["a@x.com", "yes"], map_headers(["Email", "Opted Out"]), US)
    assert contact.profile == {"email": "a@x.com"} and contact.attributes == {}
