"""Turn one row of cells into a normalised contact: identities in match order, profile, attributes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from processors.mapping import ATTRIBUTE_PREFIX, EXT_PREFIX, IGNORE, OPTED_OUT, ColumnMapping
from processors.model import EMAIL, Identity, Mode, Operation
from processors.normalize import normalize_email, normalize_external_id, normalize_phone

DEFAULT_MATCH_ON: tuple[str, ...] = ("ext", "email", "phone", "whatsapp", "sms")
NO_MATCHABLE_IDENTITY = "no_matchable_identity"
NO_VALID_IDENTITY = "no_valid_identity"
# Consent cells that keep consent; any other non-blank value (yes, true, x, a date) opts out.
_CONSENTING = frozenset({"no", "n", "false", "f", "0", "off", "subscribed", "opted in", "none", "-"})


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How an import turns rows into identities and how rows merge into leads."""

    default_region: str | None = None
    match_on: tuple[str, ...] = DEFAULT_MATCH_ON
    phone_channels: tuple[str, ...] = ("phone",)
    mode: Mode = "fill"
    operation: Operation = "upsert"


@dataclass(frozen=True, slots=True)
class Contact:
    identities: tuple[Identity, ...]
    profile: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    rejection: str | None = None
    opted_out: tuple[Identity, ...] = ()  # identities the row says must not be messaged

    @property
    def primary(self) -> Identity | None:
        return None if self.rejection or not self.identities else self.identities[0]


def match_rank(channel: str, match_on: Sequence[str]) -> int:
    """Position of ``channel`` in the match order; ``len(match_on)`` when it may not be primary."""
    for i, pattern in enumerate(match_on):
        if pattern == channel or (pattern == "ext" and channel.startswith(EXT_PREFIX)):
            return i
    return len(match_on)


def order_identities(identities: Sequence[Identity], match_on: Sequence[str]) -> tuple[Identity, ...]:
    """Stable sort by match order, duplicates dropped: the first one is the primary identity."""
    seen: set[Identity] = set()
    unique = [i for i in identities if not (i in seen or seen.add(i))]  # type: ignore[func-returns-value]
    return tuple(sorted(unique, key=lambda i: match_rank(i.channel, match_on)))


def build_contact(values: Sequence[str], mapping: ColumnMapping, options: ImportOptions) -> Contact:
    """Normalise one row. Values that fail normalisation stay profile data, not identities."""
    profile: dict[str, str] = {}
    attributes: dict[str, str] = {}
    found: list[Identity] = []
    opted_out = False
    for target, raw in zip(mapping.targets, values, strict=False):
        value = raw.strip() if raw else ""
        if not value or target == IGNORE:
            continue
        if target.startswith(ATTRIBUTE_PREFIX):
            attributes.setdefault(target[len(ATTRIBUTE_PREFIX) :], value)
        elif target == OPTED_OUT:
            opted_out = opted_out or value.casefold() not in _CONSENTING
        elif target.startswith(EXT_PREFIX):
            ext = normalize_external_id(value)
            if ext is not None:
                found.append(Identity(target, ext))
        elif target == EMAIL:
            email = normalize_email(value)
            if email is not None:
                found.append(Identity(EMAIL, email))
            profile.setdefault(EMAIL, email or value)
        elif target == "phone":
            phone = normalize_phone(value, options.default_region)
            if phone is not None:
                found.extend(Identity(ch, phone) for ch in options.phone_channels)
            profile.setdefault("phone", phone or value)
        else:
            profile.setdefault(target, value)
    identities = order_identities(found, options.match_on)
    rejection = None
    if not identities:
        rejection = NO_VALID_IDENTITY
    elif match_rank(identities[0].channel, options.match_on) == len(options.match_on):
        rejection = NO_MATCHABLE_IDENTITY
    return Contact(identities, profile, attributes, rejection, identities if opted_out else ())


def partition_key(org_id: str, identity: Identity | None, fallback: str) -> bytes:
    """The Kafka key: ``org|channel|identifier`` of the primary identity, so every event about one
    identity — import rows and deliveries alike — lands on the same partition, in order."""
    if identity is None:
        return f"{org_id}|-|{fallback}".encode()
    return f"{org_id}|{identity.channel}|{identity.identifier}".encode()
