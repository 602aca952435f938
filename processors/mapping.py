"""Map a file's header names to lead fields, identities and attributes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PROFILE_TARGETS = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "company",
    "city",
    "country",
)
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
        "whatsapp",
        "whatsapp number",
        "sms",
    ),
    "first_name": ("first name", "firstname", "given name", "first", "forename", "fname"),
    "last_name": ("last name", "lastname", "family name", "surname", "last", "lname"),
    "full_name": ("name", "full name", "fullname", "contact name", "display name", "person"),
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
    ),
    "city": ("city", "town", "mailing city", "business city", "home city", "address 1 - city"),
    "country": (
        "country",
        "country/region",
        "country region",
        "mailing country",
        "business country",
        "home country",
        "address 1 - country",
    ),
    "ext:hubspot": ("record id", "hubspot id", "contact id (hubspot)", "hs object id"),
    "ext:salesforce": ("contact id", "lead id", "salesforce id", "sfdc id", "id (salesforce)"),
    "ext:pipedrive": ("person - id", "pipedrive id", "person id"),
    "ext:mailchimp": ("leid", "euid", "mailchimp id"),
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
    if t in PROFILE_TARGETS or t == IGNORE:
        return t
    if t == EXTERNAL_ID:
        return EXT_PREFIX + DEFAULT_EXTERNAL_SYSTEM
    if t.startswith(EXT_PREFIX) and re.fullmatch(r"ext:[a-z0-9_\-]+", t):
        return t
    if t.startswith(ATTRIBUTE_PREFIX) and len(t) > len(ATTRIBUTE_PREFIX):
        return ATTRIBUTE_PREFIX + snake_case(t[len(ATTRIBUTE_PREFIX) :])
    raise MappingError(
        f"unknown field {target!r}: use one of {', '.join(PROFILE_TARGETS)}, external_id, "
        "ext:<system>, attributes.<key> or ignore"
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
