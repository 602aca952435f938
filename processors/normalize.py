"""Normalise the values that become identities: emails, phone numbers and external ids."""

from __future__ import annotations

import re
from functools import lru_cache
from types import ModuleType

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES as _SPECIAL_USE
from email_validator import EmailNotValidError, validate_email

# A strict ASCII subset of what email-validator accepts: dot-atom local part, LDH domain labels,
# an alphabetic TLD. Anything outside it is decided by email-validator itself, so the fast path
# only ever accepts addresses the validator would accept (checked by a differential test).
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FAST_EMAIL = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+([a-z]{{2,63}}))")
_SPECIAL_USE_SUFFIXES = tuple(_SPECIAL_USE)

_CACHE = 1 << 16


def _fast_email(candidate: str) -> bool:
    m = _FAST_EMAIL.fullmatch(candidate)
    if m is None:
        return False
    local, domain, tld = m.group(1), m.group(2), m.group(3)
    if len(local) > 64 or len(domain) > 253 or len(candidate) > 254:
        return False
    # IDNA forbids "--" in positions 3-4 of a label; let the validator judge those.
    if "--" in domain:
        return False
    return not (tld in _SPECIAL_USE_SUFFIXES or domain in _SPECIAL_USE_SUFFIXES)


@lru_cache(maxsize=_CACHE)
def normalize_email(raw: str) -> str | None:
    """Trim and lower-case an email; return it when it is syntactically valid, else None."""
    candidate = raw.strip().lower()
    if not candidate or "@" not in candidate:
        return None
    if _fast_email(candidate):
        return candidate
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


# rphonenumbers 0.1.0 runs libphonenumber in Rust but bundles the metadata of phonenumbers 9.0.41.
# Against phonenumbers 9.0.41 it agreed on every input we generated; every disagreement with the
# phonenumbers we run comes from metadata changed since. It is trusted only for this exact pair.
_AUDITED_PAIR = ("9.0.41", "9.0.43")  # (rphonenumbers.__phonenumbers_version__, phonenumbers.__version__)

# Calling codes of regions whose valid ranges phonenumbers withdrew after 9.0.41: there rphonenumbers
# calls numbers valid that phonenumbers rejects, so phonenumbers decides every number in them.
# Found by diffing the two releases' metadata; one witness each in tests/unit/test_phone_differential.py.
# Regions whose ranges only grew (AU, DE, IN, SH, ...) need no entry: rphonenumbers calls the new
# numbers invalid, and whatever it rejects goes to phonenumbers anyway.
DISPUTED_CALLING_CODES = frozenset(
    {
        7,  # RU: mobile 930…
        34,  # ES: mobile 5901…, general pattern
        40,  # RO: mobile 6…, general pattern
        45,  # DK: fixed and mobile 37…
        57,  # CO: mobile 9101…
        86,  # CN: fixed 378…, shared cost 3789…
        229,  # BJ: 8-digit voip and uan numbers
        263,  # ZW: fixed 13…, 20…
        267,  # BW: mobile 321…, voip 791…
        358,  # FI, AX: mobile 4946…
        506,  # CR: fixed 20…
        856,  # LA: mobile 302…
    }
)


def _load_fast_phone() -> ModuleType | None:
    """rphonenumbers when it is installed with the metadata pair audited above, else None."""
    try:
        import rphonenumbers
    except ImportError:  # a declared dependency; without it phonenumbers decides every number
        return None
    pair = (rphonenumbers.__phonenumbers_version__, phonenumbers.__version__)
    return rphonenumbers if pair == _AUDITED_PAIR else None


_RPN = _load_fast_phone()


def _phone_text(raw: str) -> str | None:
    text = raw.strip()
    if not text or sum(c.isdigit() for c in text) < 4:
        return None
    return text


def _reference_e164(text: str, default_region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def fast_e164(text: str, default_region: str | None) -> str | None:
    """rphonenumbers' E.164 for a number it calls valid outside the disputed codes; None = undecided."""
    rpn = _RPN
    if rpn is None:
        return None
    try:
        number = rpn.parse(text, default_region)
        if number.country_code in DISPUTED_CALLING_CODES or not rpn.is_valid_number(number):
            return None
        result: str = rpn.format_number(number, rpn.PhoneNumberFormat.E164)
    except Exception:  # whatever rphonenumbers rejects or trips on, phonenumbers decides
        return None
    return result


def normalize_phone_reference(raw: str, default_region: str | None) -> str | None:
    """normalize_phone by phonenumbers alone: the reference the fast path is tested against."""
    text = _phone_text(raw)
    return None if text is None else _reference_e164(text, default_region)


@lru_cache(maxsize=_CACHE)
def normalize_phone(raw: str, default_region: str | None) -> str | None:
    """Parse a phone number to E.164 with the import's default region; None when not valid."""
    text = _phone_text(raw)
    if text is None:
        return None
    return fast_e164(text, default_region) or _reference_e164(text, default_region)


def normalize_external_id(raw: str) -> str | None:
    """External CRM ids are opaque: trimmed, never case-folded."""
    text = raw.strip()
    return text or None


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def is_normalised(channel: str, identifier: str) -> bool:
    """Cheap check that an identifier is already in normal form (for events from other producers)."""
    if not identifier or identifier != identifier.strip():
        return False
    if channel == "email":
        return identifier == identifier.lower() and "@" in identifier
    if channel in ("phone", "whatsapp", "sms"):
        return _E164.fullmatch(identifier) is not None
    return channel.startswith("ext:") and len(channel) > 4


def normalize_identifier(channel: str, raw: str, default_region: str | None = None) -> str | None:
    """Normalise a value for ``channel`` with the same rules imports use."""
    if channel == "email":
        return normalize_email(raw)
    if channel in ("phone", "whatsapp", "sms"):
        return normalize_phone(raw, default_region)
    if channel.startswith("ext:") and len(channel) > 4:
        return normalize_external_id(raw)
    return None


def mask(value: str) -> str:
    """Mask an email or phone for logs: keep just enough to recognise it."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) > 4:
        return f"{value[:3]}***{value[-2:]}"
    return "***"
