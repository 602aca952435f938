"""Header names of real CRM exports map to lead fields; overrides and mapping files."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.mapping import (
    _ALIASES,
    MappingError,
    fold_header,
    map_headers,
    mapping_from_toml,
    mapping_to_toml,
    parse_overrides,
    parse_target,
    snake_case,
    unknown_columns,
)

# Header sets as the CRMs export them (trimmed to the columns that matter plus a few others).
CRM_EXPORTS: dict[str, dict[str, str]] = {
    "hubspot": {
        "Record ID": "ext:hubspot",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Mobile Phone Number": "phone",
        "Company Name": "company",
        "City": "city",
        "Country/Region": "country",
        "Lifecycle Stage": "attributes.lifecycle_stage",
        "Contact owner": "attributes.contact_owner",
        "Create Date": "attributes.create_date",
    },
    "salesforce": {
        "Contact ID": "ext:salesforce",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "attributes.title",
        "Account Name": "company",
        "Email": "email",
        "Phone": "phone",
        "Mobile": "phone",
        "Mailing City": "city",
        "Mailing Country": "country",
        "Lead Source": "attributes.lead_source",
    },
    "salesforce_leads": {
        "Lead ID": "ext:salesforce",
        "Company": "company",
        "Email": "email",
        "City": "city",
        "Country": "country",
        "Lead Status": "attributes.lead_status",
    },
    "pipedrive": {
        "Person - ID": "ext:pipedrive",
        "Person - Name": "full_name",
        "Person - First name": "first_name",
        "Person - Last name": "last_name",
        "Person - Organization": "company",
        "Person - Email - Work": "email",
        "Person - Email - Home": "email",
        "Person - Phone - Mobile": "phone",
        "Person - Phone - Work": "phone",
        "Person - Label": "attributes.person_label",
        "Person - Owner": "attributes.person_owner",
    },
    "mailchimp": {
        "Email Address": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Address": "attributes.address",
        "Phone Number": "phone",
        "MEMBER_RATING": "attributes.member_rating",
        "OPTIN_TIME": "attributes.optin_time",
        "LEID": "attributes.leid",
        "EUID": "ext:mailchimp",
        "TAGS": "attributes.tags",
    },
    "google_contacts": {
        "Name": "full_name",
        "Given Name": "first_name",
        "Additional Name": "attributes.additional_name",
        "Family Name": "last_name",
        "E-mail 1 - Type": "attributes.e_mail_1_type",
        "E-mail 1 - Value": "email",
        "E-mail 2 - Value": "email",
        "Phone 1 - Type": "attributes.phone_1_type",
        "Phone 1 - Value": "phone",
        "Organization 1 - Name": "company",
        "Address 1 - City": "city",
        "Address 1 - Country": "country",
    },
    "outlook": {
        "First Name": "first_name",
        "Middle Name": "attributes.middle_name",
        "Last Name": "last_name",
        "Company": "company",
        "Job Title": "attributes.job_title",
        "Business City": "city",
        "Business Country/Region": "country",
        "Business Phone": "phone",
        "Business Fax": "attributes.business_fax",
        "Home Phone": "phone",
        "Mobile Phone": "phone",
        "E-mail Address": "email",
        "E-mail Type": "attributes.e_mail_type",
        "E-mail Display Name": "attributes.e_mail_display_name",
        "E-mail 2 Address": "email",
    },
}


@pytest.mark.parametrize("crm", sorted(CRM_EXPORTS))
def test_each_crm_export_header_set_maps(crm: str) -> None:
    expected = CRM_EXPORTS[crm]
    assert map_headers(expected).as_dict() == expected


@pytest.mark.parametrize(
    "spelling", ["Email Address", "email address", "EMAIL_ADDRESS", " e-mail  address ", "E-Mail-Address"]
)
def test_names_are_compared_without_case_spacing_or_punctuation(spelling: str) -> None:
    assert map_headers([spelling]).targets == ("email",)


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Mobile Phone", "phone"),
        ("Phone Number", "phone"),
        ("First Name", "first_name"),
        ("Given Name", "first_name"),
        ("Record ID", "ext:hubspot"),
        ("E-mail 1 - Value", "email"),
        ("Prénom", "attributes.prenom"),
    ],
)
def test_issue_examples(header: str, target: str) -> None:
    assert map_headers([header]).targets == (target,)


def test_no_two_targets_share_a_folded_alias() -> None:
    owners: dict[str, set[str]] = {}
    for target, aliases in _ALIASES.items():
        for alias in aliases:
            owners.setdefault(fold_header(alias), set()).add(target)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_unknown_columns_become_snake_case_attributes_without_collisions() -> None:
    mapping = map_headers(["Lead Score (2024)", "lead score 2024", "LeadSource", "Ünïcode Näme", "!!!"])
    assert mapping.targets == (
        "attributes.lead_score_2024",
        "attributes.lead_score_2024_",
        "attributes.lead_source",
        "attributes.unicode_name",
        "attributes.column",
    )
    assert snake_case("HTTPStatus Code") == "httpstatus_code"


def test_overrides_win_and_match_like_aliases() -> None:
    overrides = parse_overrides(
        ["Record ID=external_id", "mobile phone=ignore", "Score=attributes.Lead Score", "a=b=email"]
    )
    assert overrides == {
        "Record ID": "ext:crm",
        "mobile phone": "ignore",
        "Score": "attributes.lead_score",
        "a=b": "email",
    }
    mapping = map_headers(["Record ID", "Mobile Phone", "Score", "a=b"], overrides)
    assert mapping.targets == ("ext:crm", "ignore", "attributes.lead_score", "email")


@pytest.mark.parametrize("bad", ["Email", "=email", "Email=emails", "X=attributes.", "X=ext:Bad System"])
def test_bad_overrides_are_refused(bad: str) -> None:
    with pytest.raises(MappingError):
        parse_overrides([bad])


def test_every_documented_field_is_a_target() -> None:
    profile = ["first_name", "last_name", "full_name", "email", "phone", "company", "city", "country"]
    assert [parse_target(f) for f in profile] == profile
    assert [parse_target(f) for f in ("external_id", " ignore ")] == ["ext:crm", "ignore"]
    assert parse_target("attributes.KEY") == "attributes.key"
    assert parse_target("ext:hubspot") == "ext:hubspot"


def test_override_columns_the_file_lacks_are_found() -> None:
    assert unknown_columns(["Email Address", "Phone"], ["email address", "Phnoe", "PHONE"]) == ["Phnoe"]


def test_mapping_file_round_trips_and_is_plain_toml() -> None:
    mapping = map_headers(['Say "hi"\\now', "E-mail 1 - Value", "Ünï = côde", "tab\there"]).as_dict()
    text = mapping_to_toml(mapping)
    assert tomllib.loads(text)["columns"] == mapping
    assert mapping_from_toml(text) == mapping


@given(st.dictionaries(st.text(min_size=1), st.sampled_from(["email", "phone", "ignore", "ext:crm"])))
def test_any_column_name_survives_a_mapping_file(mapping: dict[str, str]) -> None:
    assert mapping_from_toml(mapping_to_toml(mapping)) == mapping


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[columns\n", "not valid TOML"),
        ('x = "email"\n', r"no \[columns\] table"),
        ('[columns]\n"A" = 3\n', "must name a field"),
        ('[columns]\n"A" = "emial"\n', "unknown field 'emial'"),
    ],
)
def test_bad_mapping_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        mapping_from_toml(text)
