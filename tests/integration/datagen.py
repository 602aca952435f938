"""Contact files whose outcome is known in advance and independent of partitions and workers."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from schemas.events import CampaignDelivered, DeliveryContact

HEADER = ["Record ID", "Email", "Phone", "First Name", "City", "Unsubscribed", "Lead Score"]
SEED_AREA, MAIN_AREA = 646, 212


def phone(area: int, i: int) -> str:
    """A distinct valid US number per ``i`` (up to 8M of them), written the way people do."""
    return f"({area}) {200 + i // 10_000}-{i % 10_000:04d}"


def _main_rows(n: int, seed: int) -> Iterator[tuple[list[str], str, int]]:
    """Rows of the main file with their expected outcome and conflict count.

    Every row that touches an existing lead shares its primary identity with the row that created
    that lead (same partition, file order), and the only contested identities belong to the seed
    import, so no outcome depends on which partition or worker goes first.
    """
    for i in range(n):
        kind = i % 20
        email, ph = f"c{i}@example.com", phone(MAIN_AREA, i)
        if kind == 0:  # the base contact the later kinds come back to; its city is left empty
            yield ["", email, ph, f"F{i}", "", "", str(i % 100)], "created", 0
        elif kind == 1:  # a CRM record: ext:hubspot is the primary identity
            yield [f"HS{i}", email, ph, f"F{i}", "", "", ""], "created", 0
        elif kind == 3:  # the base again, other case and spacing, bringing a city: fill
            yield ["", f"  C{i - 3}@Example.COM ", "", "", "Lisbon", "", ""], "updated", 0
        elif kind == 5:  # the base again with nothing new
            yield ["", f"c{i - 5}@example.com", "", f"F{i - 5}", "", "", ""], "unchanged", 0
        elif kind == 7:  # no valid identity
            yield ["", f"not-an-email-{i}", "12", "Nobody", "", "", ""], "rejected", 0
        elif kind == 9 and seed:  # a family member: own email, a phone a seed lead owns
            yield ["", email, phone(SEED_AREA, (i // 20) % seed), f"F{i}", "", "", ""], "created", 1
        elif kind == 11:  # phone only: the phone is the primary identity
            yield ["", "", ph, f"F{i}", "Oslo", "", ""], "created", 0
        elif kind == 13:  # a new contact who unsubscribed
            yield ["", email, ph, f"F{i}", "", "yes", ""], "created", 0
        elif kind == 15:  # the base unsubscribes later: an opt-out on an existing identity
            yield ["", f"c{i - 15}@example.com", "", "", "", "Y", ""], "updated", 0
        elif kind == 17:  # the CRM record again by its id, bringing a city
            yield [f"HS{i - 16}", "", "", "", "Porto", "", ""], "updated", 0
        else:
            yield ["", email, ph, f"F{i}", f"City{i % 7}", "", str(i % 100)], "created", 0


def _write(path: Path, rows: Iterator[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def write_seed(path: Path, n: int) -> dict[str, int]:
    """``n`` contacts whose phones the main file's family members reuse; all are created."""
    _write(path, (["", f"s{j}@seed.example", phone(SEED_AREA, j), f"S{j}", "", "", ""] for j in range(n)))
    return expected({"created": n})


def write_contacts(path: Path, n: int, seed: int = 0) -> dict[str, int]:
    """The main file of ``n`` rows; returns the import counts a correct run must end with."""
    tally: Counter[str] = Counter()

    def rows() -> Iterator[list[str]]:
        for cells, outcome, conflicts in _main_rows(n, seed):
            tally[outcome] += 1
            tally["conflicts"] += conflicts
            yield cells

    _write(path, rows())
    return expected(tally)


def expected(counts: dict[str, int]) -> dict[str, int]:
    """Counts in the shape of ``ImportSummary.counts``."""
    fields = ("created", "updated", "unchanged", "rejected", "skipped_existing", "cancelled", "conflicts")
    return {f: counts.get(f, 0) for f in fields}


def email_delivery(
    org: str,
    event_id: str,
    identifier: str,
    *,
    campaign_id: str = "camp",
    contact: DeliveryContact | None = None,
    at: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> CampaignDelivered:
    """A ``campaign_delivered`` event to an email address (``identifier`` as the service sent it)."""
    return CampaignDelivered(
        event_id=event_id,
        org_id=org,
        campaign_id=campaign_id,
        channel="email",
        channel_identifier=identifier,
        contact=contact or DeliveryContact(),
        delivered_at=at,
    )
