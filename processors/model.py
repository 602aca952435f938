"""Plain data types shared by the core: identities, rows, lead state and decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

EMAIL = "email"
PHONE = "phone"
WHATSAPP = "whatsapp"
SMS = "sms"
PHONE_CHANNELS: tuple[str, ...] = (PHONE, WHATSAPP, SMS)
EXT_PREFIX = "ext:"

PROFILE_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "company",
    "city",
    "country",
)

Mode = Literal["fill", "overwrite"]
Operation = Literal["upsert", "create", "update"]


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"
    SKIPPED_EXISTING = "skipped_existing"
    CANCELLED = "cancelled"


class RejectReason(StrEnum):
    NO_VALID_IDENTITY = "no_valid_identity"
    NOT_FOUND = "not_found"
    TOO_MANY_FIELDS = "too_many_fields"
    IDENTITY_NOT_NORMALISED = "identity_not_normalised"
    REFUSED_BY_DATABASE = "refused_by_database"


@dataclass(frozen=True, slots=True, order=True)
class Identity:
    """A channel identity: the only thing that identifies a lead inside an org."""

    channel: str
    identifier: str

    def is_phone(self) -> bool:
        return self.channel in PHONE_CHANNELS

    def is_external(self) -> bool:
        return self.channel.startswith(EXT_PREFIX)


IdentityKey = tuple[str, str, str]  # (org_id, channel, channel_identifier)


def identity_key(org_id: str, identity: Identity) -> IdentityKey:
    return (org_id, identity.channel, identity.identifier)


@dataclass(frozen=True, slots=True)
class RowInput:
    """One normalised contact to apply: an import row or a campaign delivery.

    ``identities`` are normalised and ordered by match priority: the first is the primary.
    ``ref`` is the ledger key the repository uses (import row or delivery id).
    """

    ref: str
    org_id: str
    identities: tuple[Identity, ...]
    profile: dict[str, str]
    attributes: dict[str, str]
    mode: Mode = "fill"
    operation: Operation = "upsert"
    rejection: str | None = None
    opted_out: frozenset[Identity] = frozenset()

    @property
    def primary(self) -> Identity | None:
        return self.identities[0] if self.identities else None


@dataclass(slots=True)
class LeadState:
    """A lead's profile as the core sees it; mutable only inside one decision run."""

    lead_id: int
    org_id: str
    profile: dict[str, str]
    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class RowResult:
    ref: str
    outcome: Outcome
    lead_id: int | None = None
    reason: str | None = None
    conflicts: int = 0


@dataclass(frozen=True, slots=True)
class Conflict:
    """A secondary identity the row carried that another lead already owns."""

    ref: str
    org_id: str
    identity: Identity
    owner_lead_id: int
    row_lead_id: int


@dataclass(frozen=True, slots=True)
class NewIdentity:
    org_id: str
    identity: Identity
    lead_id: int
    opted_out: bool = False


@dataclass(slots=True)
class BatchPlan:
    """Everything one batch will write, decided without I/O."""

    created: dict[int, LeadState] = field(default_factory=dict)
    updated: dict[int, LeadState] = field(default_factory=dict)
    new_identities: list[NewIdentity] = field(default_factory=list)
    opt_outs: list[tuple[str, Identity]] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.outcome.value] = out.get(r.outcome.value, 0) + 1
        return out
