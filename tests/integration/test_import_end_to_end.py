"""A contact file goes through the real broker and worker into the real database."""

from __future__ import annotations

from pathlib import Path

from tests.integration.harness import Stack

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contacts.csv"


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def test_sample_file_end_to_end(stack: Stack) -> None:
    stack.start_worker()
    report = stack.publish_file(SAMPLE, "acme", default_region="US")
    summary = stack.wait_import(report.import_id)

    assert summary.status == "completed"
    assert summary.total_rows == 290
    assert summary.counts == {
        "created": 230,
        "updated": 20,
        "unchanged": 20,
        "rejected": 20,
        "skipped_existing": 0,
        "cancelled": 0,
        "conflicts": 20,
    }
    assert stack.scalar("SELECT count(*) FROM leads WHERE org_id = 'acme'") == 230
    assert stack.scalar("SELECT count(*) FROM import_row_results") == 290
    assert stack.scalar("SELECT count(*) FROM identity_conflicts") == 20
    # every lead has exactly one primary identity row for its email or phone-only contact
    assert (
        stack.scalar(
            "SELECT count(*) FROM leads l WHERE NOT EXISTS"
            " (SELECT 1 FROM channel_identities c WHERE c.org_id = l.org_id AND c.lead_id = l.lead_id)"
        )
        == 0
    )
    assert (
        stack.scalar(
            "SELECT count(*) FROM channel_identities WHERE channel = 'email'"
            " AND channel_identifier <> lower(btrim(channel_identifier))"
        )
        == 0
    )
    # the duplicates in other case filled the city the first row left empty
    assert stack.scalar("SELECT count(*) FROM leads WHERE city = 'Lisbon'") == 20
    assert (
        stack.scalar(
            "SELECT count(*) FROM import_row_results WHERE outcome = 'rejected'"
            " AND reason = 'no_valid_identity' AND row_data IS NOT NULL"
        )
        == 20
    )
    # the completion event waits in the outbox or has been relayed
    assert stack.scalar("SELECT count(*) FROM imports WHERE completed_at IS NOT NULL") == 1


def test_family_phone_gives_two_leads_and_one_conflict(stack: Stack, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "family.csv",
        """
email,phone,first name
mum@example.com,+1 202 555 0150,Mum
kid@example.com,(202) 555-0150,Kid
""",
    )
    stack.start_worker()
    report = stack.publish_file(path, "fam", default_region="US")
    summary = stack.wait_import(report.import_id)

    assert summary.counts["created"] == 2
    assert summary.counts["conflicts"] == 1
    assert stack.scalar("SELECT count(*) FROM leads") == 2
    # the phone belongs to exactly one lead; the other keeps it as profile data only
    owners = stack.query(
        "SELECT lead_id FROM channel_identities WHERE channel = 'phone'"
        " AND channel_identifier = '+12025550150'"
    )
    assert len(owners) == 1
    assert stack.scalar("SELECT count(*) FROM leads WHERE phone = '+12025550150'") == 2
    conflict = stack.query("SELECT channel, channel_identifier, owner_lead_id FROM identity_conflicts")
    assert conflict == [("phone", "+12025550150", owners[0][0])]


def test_one_email_in_other_case_and_spacing_is_one_lead(stack: Stack, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "case.csv",
        """
Email Address,First Name,City
Jane.Doe@Example.com,Jane,
"  JANE.DOE@EXAMPLE.COM ",,Oslo
jane.doe@example.com,,
""",
    )
    stack.start_worker()
    report = stack.publish_file(path, "case")
    summary = stack.wait_import(report.import_id)

    assert (summary.counts["created"], summary.counts["updated"], summary.counts["unchanged"]) == (1, 1, 1)
    assert stack.query("SELECT email, first_name, city FROM leads") == [
        ("jane.doe@example.com", "Jane", "Oslo")
    ]
    assert stack.query("SELECT channel, channel_identifier FROM channel_identities") == [
        ("email", "jane.doe@example.com")
    ]
