"""Generate a deterministic CRM export of N rows with the duplicates and defects of real ones."""

from __future__ import annotations

import csv
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Mobile Phone",
    "Company",
    "City",
    "Country",
    "Lead Score",
    "Plan",
    "Signup Date",
]
FIRST = (
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
    "Zoë",
    "Łukasz",
    "Søren",
    "Ana-María",
    "Siobhán",
    "Ngozi",
    "Björn",
    "Çağla",
    "Đorđe",
    "Émilie",
    "Жанна",
    "Олег",
    "李",
    "陈",
    "محمد",
    "فاطمة",
    "Ιωάννα",
    "Ξένια",
    "Nguyễn",
    "Ömer",
)
LAST = (
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
    "Þórsson",
    "Węgrzyn",
    "Åberg",
    "Ferreira",
    "Yılmaz",  # noqa: RUF001 - a real spelling
    "Петров",
    "王",
    "Ахмедова",
    "Παπαδόπουλος",
)
CITIES = ("Paris", "Lagos", "Berlin", "Austin", "Madrid", "Milan", "Kraków", "Lyon", "São Paulo", "Zürich")
COUNTRIES = ("US", "GB", "FR", "DE", "BR", "NG", "PL", "ES", "JP", "")
PLANS = ("free", "team", "pro", "enterprise", "")
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "acme.io", "example.org")
BAD_EMAILS = ("{n}.at.{d}", "{n}@", "@{d}", "{n}@localhost", "{n}@@{d}", "{n} @{d}")
BAD_PHONES = ("12", "n/a", "555-CALL-NOW", "+44 123", "000-000-0000", "tbd")
US_AREAS = (201, 202, 212, 213, 305, 312, 415, 503, 617, 646, 702, 713, 718, 773, 808, 917)

# Row kinds and their shares (the rest are new contacts with a valid email and phone).
REPEAT, SHARED_PHONE, BAD_EMAIL, BAD_PHONE, BAD_BOTH, NEW = (
    "repeat",
    "shared_phone",
    "bad_email",
    "bad_phone",
    "bad_both",
    "new",
)
SHARES = ((REPEAT, 0.10), (SHARED_PHONE, 0.03), (BAD_EMAIL, 0.02), (BAD_PHONE, 0.02), (BAD_BOTH, 0.01))


@dataclass(frozen=True, slots=True)
class Person:
    first: str
    last: str
    email: str | None  # the valid address as written first, None when the row had a bad one
    digits: tuple[str, str]  # (region, national significant number) of the valid phone
    city: str


@dataclass
class Export:
    """The file written and how many rows of each kind it has."""

    path: Path
    rows: int
    kinds: Counter[str] = field(default_factory=Counter)


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum()) or "contact"


def _phone_pools() -> tuple[list[int], list[int]]:
    """Prefixes of valid UK and French mobiles (checked once with phonenumbers)."""
    uk = [p for p in range(7100, 8000) if phonenumbers.is_valid_number(phonenumbers.parse(f"+44{p}123456"))]
    fr = [p for p in range(60, 80) if phonenumbers.is_valid_number(phonenumbers.parse(f"+33{p}1234567"))]
    return uk, fr


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.uk, self.fr = _phone_pools()
        self.people: list[Person] = []
        self.seen_phones: set[tuple[str, str]] = set()
        self.n = 0

    def new_phone(self) -> tuple[str, str]:
        rng = self.rng
        while True:
            r = rng.random()
            if r < 0.7:
                digits = ("US", f"{rng.choice(US_AREAS)}{rng.randrange(200, 1000)}{rng.randrange(10000):04d}")
            elif r < 0.9:
                digits = ("GB", f"{rng.choice(self.uk)}{rng.randrange(1_000_000):06d}")
            else:
                digits = ("FR", f"{rng.choice(self.fr)}{rng.randrange(10_000_000):07d}")
            if digits not in self.seen_phones:
                self.seen_phones.add(digits)
                return digits

    def format_phone(self, digits: tuple[str, str]) -> str:
        region, n = digits
        style = self.rng.randrange(4)
        if region == "US":
            a, e, line = n[:3], n[3:6], n[6:]
            return (f"({a}) {e}-{line}", f"{a}-{e}-{line}", f"+1 {a} {e} {line}", f"{a}.{e}.{line}")[style]
        code = "44" if region == "GB" else "33"
        if style % 2:
            return f"+{code}{n}"
        return (
            f"+{code} {n[:4]} {n[4:]}"
            if region == "GB"
            else f"+{code} {n[0]} " + " ".join(n[i : i + 2] for i in range(1, 9, 2))
        )

    def new_email(self, first: str, last: str) -> str:
        rng = self.rng
        local = f"{_ascii(first)}.{_ascii(last)}{self.n}"
        domain = rng.choice(DOMAINS)
        email = f"{local}@{domain}"
        return email.title() if rng.random() < 0.1 else email

    def bad_email(self, first: str) -> str:
        return self.rng.choice(BAD_EMAILS).format(n=_ascii(first), d=self.rng.choice(DOMAINS))

    def row(self) -> tuple[str, list[str]]:
        rng = self.rng
        self.n += 1
        r = rng.random()
        kind, acc = NEW, 0.0
        for k, share in SHARES:
            acc += share
            if r < acc:
                kind = k
                break
        if kind == REPEAT and not self.people:
            kind = NEW
        if kind == SHARED_PHONE and not self.people:
            kind = NEW
        if kind == REPEAT:
            return kind, self.repeat(rng.choice(self.people))
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city = rng.choice(CITIES) if rng.random() < 0.8 else ""
        email: str | None = self.new_email(first, last)
        digits = self.new_phone()
        phone_cell = self.format_phone(digits)
        email_cell = email or ""
        if kind == SHARED_PHONE:
            digits = rng.choice(self.people).digits
            phone_cell = self.format_phone(digits)
        elif kind in (BAD_EMAIL, BAD_BOTH):
            email, email_cell = None, self.bad_email(first)
        if kind in (BAD_PHONE, BAD_BOTH):
            phone_cell = rng.choice(BAD_PHONES)
        if kind in (NEW, BAD_EMAIL, BAD_PHONE):
            self.people.append(Person(first, last, email, digits, city))
        return kind, [
            first,
            last,
            email_cell,
            phone_cell,
            f"{rng.choice(LAST)} {rng.choice(('GmbH', 'Ltd', 'SA', 'Inc', 'Studio'))}",
            city,
            rng.choice(COUNTRIES),
            str(rng.randrange(100)),
            rng.choice(PLANS),
            f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        ]

    def repeat(self, p: Person) -> list[str]:
        """The same identity again in another case, spacing or format, with a field it may add."""
        rng = self.rng
        if p.email is not None:
            email = p.email.upper() if rng.random() < 0.5 else f"  {p.email.swapcase()} "
            phone = self.format_phone(p.digits) if rng.random() < 0.5 else ""
        else:
            email, phone = "", self.format_phone(p.digits)
        city = p.city or rng.choice(CITIES)
        return [p.first, "", email, phone, "", city, "", "", rng.choice(PLANS), ""]


def generate(path: Path, rows: int, seed: int = 7) -> Export:
    """Write ``rows`` rows (plus the header) to ``path``; the same arguments give the same bytes."""
    gen = _Generator(seed)
    export = Export(path, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        chunk: list[list[str]] = []
        for _ in range(rows):
            kind, cells = gen.row()
            export.kinds[kind] += 1
            chunk.append(cells)
            if len(chunk) == 10_000:
                writer.writerows(chunk)
                chunk.clear()
        writer.writerows(chunk)
    return export
