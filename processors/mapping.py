"""Map a file's header names to lead fields, identities and attributes."""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from processors.model import PROFILE_FIELDS

PROFILE_TARGETS = PROFILE_FIELDS
IGNORE = "ignore"
EXTERNAL_ID = "external_id"
ATTRIBUTE_PREFIX = "attributes."
EXT_PREFIX = "ext:"
DEFAULT_EXTERNAL_SYSTEM = "crm"

# Header spellings seen in CRM exports (HubSpot, Salesforce, Pipedrive, Mailchimp, Google
# Contacts, Outlook), compared after folding case, accents, spacing and punctuation.
_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "mail",
        "primary email",
        "email 1",
        "e-mail 1 - value",
        "email 1 - value",
        "work email",
        "personal email",
        "email - work",
        "email - home",
        "email - other",
        "contact email",
        "e-mail 2 - value",  # Google Contacts
        "e-mail 3 - value",
        "e-mail 2 address",  # Outlook
        "e-mail 3 address",
        "person - email",  # Pipedrive
        "person - email - work",
        "person - email - home",
        "person - email - other",
    ),
    "phone": (
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "telephone",
        "tel",
        "phone 1 - value",
        "primary phone",
        "business phone",
        "home phone",
        "phone - mobile",
        "phone - work",
        "phone - home",
        "mobile phone number",
        "other phone",  # Outlook
        "business phone 2",
        "home phone 2",
        "phone 2 - value",  # Google Contacts
        "phone 3 - value",
        "person - phone",  # Pipedrive
        "person - phone - mobile",
        "person - phone - work",
        "person - phone - home",
        "person - phone - other",
        "whatsapp",
        "whatsapp number",
        "sms",
    ),
    "first_name": (
        "first name",
        "firstname",
        "given name",
        "first",
        "forename",
        "fname",
        "person - first name",
    ),
    "last_name": ("last name", "lastname", "family name", "surname", "last", "lname", "person - last name"),
    "full_name": ("name", "full name", "fullname", "contact name", "display name", "person", "person - name"),
    "company": (
        "company",
        "company name",
        "organization",
        "organisation",
        "organization name",
        "organization 1 - name",
        "account name",
        "account",
        "employer",
        "business",
        "person - organization",  # Pipedrive
        "organization - name",
    ),
    "city": ("city", "town", "mailing city", "business city", "home city", "address 1 - city"),
    "country": (
        "country",
        "country/region",
        "country region",
        "mailing country",
        "business country",
        "home country",
        "business country/region",  # Outlook
        "home country/region",
        "address 1 - country",
    ),
    "ext:hubspot": ("record id", "hubspot id", "contact id (hubspot)", "hs object id"),
    "ext:salesforce": ("contact id", "lead id", "salesforce id", "sfdc id", "id (salesforce)"),
    "ext:pipedrive": ("person - id", "pipedrive id", "person id"),
    # EUID is stable across a Mailchimp account; LEID (one audience's id) stays an attribute, or
    # every Mailchimp row would carry two ext:mailchimp identities.
    "ext:mailchimp": ("euid", "mailchimp id"),
    "ext:crm": ("external id", "external_id", "crm id", "customer id", "id"),
}


def fold_header(name: str) -> str:
    """Fold a header for comparison: accents, case, spacing and punctuation do not matter."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^0-9a-z]+", "", text)


_ALIAS_INDEX: dict[str, str] = {
    fold_header(alias): target for target, aliases in _ALIASES.items() for alias in aliases
}

# Consent: a column saying the contact unsubscribed. Channel-agnostic spellings only; a
# channel-specific column ("Email Opt Out") is mapped with --map "Email Opt Out=opted_out".
OPTED_OUT = "opted_out"
_CONSENT_ALIASES = ("opted out", "opt out", "unsubscribed", "unsubscribe", "do not contact")
_ALIAS_INDEX.update({fold_header(alias): OPTED_OUT for alias in _CONSENT_ALIASES})


def snake_case(name: str) -> str:
    """An attribute key for an unknown column: ``"Lead Score (2024)"`` → ``"lead_score_2024"``."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()
    text = re.sub(r"[^0-9a-z]+", "_", text).strip("_")
    return text or "column"


class MappingError(ValueError):
    """A mapping the importer cannot use (unknown field, bad override)."""


def parse_target(target: str) -> str:
    """Validate one ``--map`` target and return its canonical form."""
    t = target.strip()
    if t in PROFILE_TARGETS or t in (IGNORE, OPTED_OUT):
        return t
    if t == EXTERNAL_ID:
        return EXT_PREFIX + DEFAULT_EXTERNAL_SYSTEM
    if t.startswith(EXT_PREFIX) and re.fullmatch(r"ext:[a-z0-9_\-]+", t):
        return t
    if t.startswith(ATTRIBUTE_PREFIX) and len(t) > len(ATTRIBUTE_PREFIX):
        return ATTRIBUTE_PREFIX + snake_case(t[len(ATTRIBUTE_PREFIX) :])
    raise MappingError(
        f"unknown field {target!r}: use one of {', '.join(PROFILE_TARGETS)}, external_id, "
        "ext:<system>, attributes.<key>, opted_out or ignore"
    )


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """Parse ``--map "Column=field"`` options into ``{column: target}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        if not sep or not column.strip():
            raise MappingError(f"--map expects 'Column=field', got {pair!r}")
        out[column.strip()] = parse_target(target)
    return out


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Where each column of a file goes, in column order."""

    columns: tuple[str, ...]
    targets: tuple[str, ...]

    def as_dict(self) -> dict[str, str]:
        return dict(zip(self.columns, self.targets, strict=True))


def map_headers(headers: Iterable[str], overrides: Mapping[str, str] | None = None) -> ColumnMapping:
    """Choose a target for every column: an override, a known alias, or an attribute."""
    overrides = overrides or {}
    folded_overrides = {fold_header(k): v for k, v in overrides.items()}
    columns = tuple(headers)
    targets: list[str] = []
    used_attr: set[str] = set()
    for column in columns:
        folded = fold_header(column)
        target = overrides.get(column) or folded_overrides.get(folded) or _ALIAS_INDEX.get(folded)
        if target is None:
            key = snake_case(column)
            while key in used_attr:
                key += "_"
            used_attr.add(key)
            target = ATTRIBUTE_PREFIX + key
        targets.append(target)
    return ColumnMapping(columns, tuple(targets))


def unknown_columns(headers: Iterable[str], columns: Iterable[str]) -> list[str]:
    """The ``columns`` (of ``--map`` or a mapping file) that ``headers`` lacks, compared as aliases are."""
    present = {fold_header(h) for h in headers}
    return [c for c in columns if fold_header(c) not in present]


# A mapping file: one TOML table of "Column header" = "field", written by --save-mapping.
MAPPING_TABLE = "columns"


def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped and JSON does not.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def mapping_to_toml(mapping: Mapping[str, str]) -> str:
    """A mapping as a TOML file that :func:`mapping_from_toml` reads back."""
    lines = [
        "# leadstream column mapping: each file column and the field it becomes",
        "# (first_name, last_name, full_name, email, phone, company, city, country, external_id,",
        "#  ext:<system>, attributes.<key>, opted_out or ignore). Reuse it with --mapping FILE.",
        f"[{MAPPING_TABLE}]",
    ]
    lines += [f"{_toml_string(column)} = {_toml_string(target)}" for column, target in mapping.items()]
    return "\n".join(lines) + "\n"


def mapping_from_toml(text: str) -> dict[str, str]:
    """``{column: target}`` from a mapping file; every target is validated like a ``--map`` one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MappingError(f"mapping file is not valid TOML: {e}") from e
    table = data.get(MAPPING_TABLE)
    if not isinstance(table, dict):
        raise MappingError(f'mapping file has no [{MAPPING_TABLE}] table of "Column" = "field"')
    out: dict[str, str] = {}
    for column, target in table.items():
        if not isinstance(target, str):
            raise MappingError(f"mapping file: {column!r} must name a field as a string, not {target!r}")
        out[column] = parse_target(target)
    return out
