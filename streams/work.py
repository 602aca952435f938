"""Decoded events as work items for the repository, and their conversion to the core's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from processors.model import Identity, RejectReason, RowInput
from processors.normalize import is_normalised, normalize_email, normalize_identifier, normalize_phone
from schemas.events import CampaignDelivered, LeadImportRow


@dataclass(frozen=True, slots=True)
class ImportRowItem:
    row: RowInput
    import_id: str
    row_number: int
    event_id: str
    raw: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class DeliveryItem:
    row: RowInput
    campaign_id: str
    delivered_at: datetime
    event_id: str


def row_ref(kind: str, org_id: str, event_id: str) -> str:
    """A row's reference inside one batch: event ids are unique per org and per kind only, so two
    orgs' deliveries with the same id (or a delivery id equal to an import row's) stay apart."""
    return f"{kind}|{org_id}|{event_id}"


WorkItem = ImportRowItem | DeliveryItem
_NO_OPT_OUTS: frozenset[Identity] = frozenset()


def import_row_item(event: LeadImportRow) -> ImportRowItem:
    # Once per record on the worker's hot path: list comprehensions, no copies of the decoded
    # dicts (the event is dropped right after) and one shared empty opt-out set.
    identities = tuple([Identity(i.channel, i.identifier) for i in event.identities])
    rejection = event.rejection
    # Producers in other languages must send identities already normalised: comparing a
    # non-normalised identifier would create a second lead for the same person.
    if rejection is None and not all([is_normalised(i.channel, i.identifier) for i in identities]):
        rejection = RejectReason.IDENTITY_NOT_NORMALISED.value
    opted = event.opted_out
    row = RowInput(
        row_ref("row", event.org_id, event.event_id),
        event.org_id,
        identities,
        event.profile,
        event.attributes,
        event.mode,
        event.operation,
        rejection,
        frozenset([Identity(i.channel, i.identifier) for i in opted]) if opted else _NO_OPT_OUTS,
    )
    raw = event.raw
    if rejection is not None and raw is None:
        raw = {**event.profile, **event.attributes}
    return ImportRowItem(row, event.import_id, event.row_number, event.event_id, raw)


def delivery_item(event: CampaignDelivered) -> DeliveryItem:
    """A delivery creates or touches the lead of its one identity; contact data is profile only."""
    identifier = normalize_identifier(event.channel, event.channel_identifier, event.default_region)
    identities = (Identity(event.channel, identifier),) if identifier else ()
    contact = event.contact
    profile: dict[str, str] = {}
    for name in ("first_name", "last_name"):
        value = getattr(contact, name)
        if value and value.strip():
            profile[name] = value.strip()
    if contact.phone and contact.phone.strip():
        # The same form an import stores, so the profile does not depend on who came first.
        profile["phone"] = normalize_phone(contact.phone, event.default_region) or contact.phone.strip()
    if contact.email and contact.email.strip():
        profile["email"] = normalize_email(contact.email) or contact.email.strip()
    row = RowInput(
        ref=row_ref("delivery", event.org_id, event.event_id),
        org_id=event.org_id,
        identities=identities,
        profile=profile,
        attributes=dict(contact.attributes),
        mode="fill",
        operation="upsert",
    )
    return DeliveryItem(row, event.campaign_id, event.delivered_at, event.event_id)
