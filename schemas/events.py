"""Frozen pydantic v2 models of every event leadstream reads or writes, each with a schema_version."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Channel = Annotated[str, StringConstraints(pattern=r"^(email|phone|whatsapp|sms|ext:[a-z0-9_\-]+)$")]
Mode = Literal["fill", "overwrite"]
Operation = Literal["upsert", "create", "update"]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IdentityRef(Event):
    """A normalised channel identity."""

    channel: Channel
    identifier: NonEmpty


class LeadImportRow(Event):
    """One contact of an import. Key: ``org|channel|identifier`` of ``identities[0]``."""

    schema_version: Literal[1] = 1
    event_id: NonEmpty = Field(description="'<import_id>:<row_number>'")
    org_id: NonEmpty
    import_id: NonEmpty
    row_number: int = Field(ge=1, description="The row's line number in the source file")
    identities: list[IdentityRef] = Field(
        default_factory=list, description="Normalised identities, primary first"
    )
    profile: dict[str, str] = Field(default_factory=dict)
    attributes: dict[str, str] = Field(default_factory=dict)
    opted_out: list[IdentityRef] = Field(default_factory=list)
    mode: Mode = "fill"
    operation: Operation = "upsert"
    rejection: str | None = Field(default=None, description="Set when the importer rejected it")
    raw: dict[str, str] | None = Field(default=None, description="Original cells of a rejected row")


class DeliveryContact(Event):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


class CampaignDelivered(Event):
    """A campaign reached a contact. Key: ``org|channel|normalised identifier``."""

    schema_version: Literal[1] = 1
    event_id: NonEmpty = Field(description="The delivery id")
    org_id: NonEmpty
    campaign_id: NonEmpty
    channel: Channel
    channel_identifier: NonEmpty
    contact: DeliveryContact = Field(default_factory=DeliveryContact)
    delivered_at: datetime
    default_region: str | None = Field(default=None, description="For national phone numbers")


class ImportStarted(Event):
    schema_version: Literal[1] = 1
    event_type: Literal["import_started"] = "import_started"
    event_id: NonEmpty
    import_id: NonEmpty
    org_id: NonEmpty
    source_name: str
    options: dict[str, str | list[str] | None] = Field(default_factory=dict)
    started_at: datetime


class ImportSealed(Event):
    schema_version: Literal[1] = 1
    event_type: Literal["import_sealed"] = "import_sealed"
    event_id: NonEmpty
    import_id: NonEmpty
    org_id: NonEmpty
    total_rows: int = Field(ge=0)
    sealed_at: datetime


class ImportCancelled(Event):
    schema_version: Literal[1] = 1
    event_type: Literal["import_cancelled"] = "import_cancelled"
    event_id: NonEmpty
    import_id: NonEmpty
    org_id: NonEmpty
    cancelled_at: datetime


ImportControl = Annotated[ImportStarted | ImportSealed | ImportCancelled, Field(discriminator="event_type")]


LeadEventType = Literal["lead_created", "lead_updated", "identity_conflict", "lead_import_completed"]


class LeadEvent(Event):
    """What ``lead_events`` carries; consumers dedupe on ``event_id``."""

    schema_version: Literal[1] = 1
    event_id: NonEmpty
    event_type: LeadEventType
    org_id: NonEmpty
    lead_id: int | None = None
    import_id: str | None = None
    occurred_at: datetime
    data: dict[str, object] = Field(default_factory=dict)


# Topic name → model: what other producers validate against (schemas/json/<name>.json).
CONTRACTS: dict[str, type[BaseModel]] = {
    "lead_import_row": LeadImportRow,
    "campaign_delivered": CampaignDelivered,
    "import_started": ImportStarted,
    "import_sealed": ImportSealed,
    "import_cancelled": ImportCancelled,
    "lead_event": LeadEvent,
}
