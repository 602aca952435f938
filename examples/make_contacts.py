"""Generate examples/contacts.csv: a small CRM export that shows every import outcome.

Expected counts (with --default-region US), stated in the README and checked by a test:
290 rows → created 230, updated 20, unchanged 20, rejected 20, conflicts 20.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

FIRST = [
    "Alice",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Eva",
    "Farid",
    "Grace",
    "Hiro",
    "Inès",
    "José",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Olivier",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Yuki",
]
LAST = [
    "Martin",
    "Okafor",
    "Müller",
    "Nguyen",
    "García",
    "Rossi",
    "Kowalski",
    "Dubois",
    "Silva",
    "Tanaka",
    "Haddad",
    "Larsen",
    "O'Brien",
    "Novák",
    "Costa",
    "Schmidt",
]
CITIES = ["Paris", "Lagos", "Berlin", "Austin", "Madrid", "Milan", "Kraków", "Lyon", ""]
HEADER = ["First Name", "Last Name", "Email Address", "Mobile Phone", "Company", "City", "Lead Score", "Plan"]


def phone(i: int) -> str:
    # Valid US numbers in the 202 area: 202-555-01xx is reserved for fiction but parses as valid.
    return f"(202) 555-{1000 + i:04d}"


def main(out: Path) -> None:
    rng = random.Random(42)
    rows: list[list[str]] = []
    people = []
    for i in range(200):  # 200 distinct contacts → created
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{last.lower().replace(chr(39), '')}{i}@example.com"
        email = email.encode("ascii", "ignore").decode()
        city = "" if i < 20 else rng.choice(CITIES[:-1])
        person = [
            first,
            last,
            email,
            phone(i),
            f"Company {i % 37}",
            city,
            str(rng.randint(1, 100)),
            rng.choice(["free", "pro", "team"]),
        ]
        people.append(person)
        rows.append(person)
    for i in range(20):  # same email, other case and spacing, adds the missing city → updated
        p = people[i]
        rows.append([p[0], p[1], f"  {p[2].upper()} ", f"+1 202-555-{1000 + i:04d}", "", "Lisbon", "", ""])
    for i in range(20, 40):  # same email, other case, nothing new → unchanged
        p = people[i]
        rows.append(["", "", p[2].title(), "", "", "", "", ""])
    for i in range(20):  # no valid identity → rejected
        bad_email = ["not-an-email", "jane@", "@example.com", "", "x@y"][i % 5]
        bad_phone = ["12", "555", "", "abc", "+1 000"][i % 5]
        rows.append(["Nobody", str(i), bad_email, bad_phone, "", "", "", ""])
    for i in range(20):  # family members: own email, a phone someone else owns → created + conflict
        p = people[100 + i]
        rows.append(["Kid", p[1], f"kid{i}.{p[2]}", p[3], "", p[5], "", ""])
    for i in range(10):  # phone only → created, phone is the primary identity
        rows.append(["Phone", f"Only {i}", "", f"+1 415 555 {2600 + i:04d}", "", "Austin", "", ""])
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("contacts.csv"))
