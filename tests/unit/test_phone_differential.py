"""rphonenumbers as the fast path of normalize_phone gives phonenumbers' answer for every input."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

from processors import normalize
from processors.normalize import (
    DISPUTED_CALLING_CODES,
    fast_e164,
    normalize_phone,
    normalize_phone_reference,
)

_TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
)
_FORMATS = (
    PhoneNumberFormat.E164,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.RFC3966,
)

# What people type that example numbers never look like; read with several default regions.
_ODD_INPUTS = (
    "1-800-FLOWERS",
    "+1 650 253 0000 ext. 123",
    "tel:+1-650-253-0000;ext=1",
    "+1 (650) 253-0000 x12",
    "\uff10\uff13\u2212\uff11\uff12\uff13\uff14\u2212\uff15\uff16\uff17\uff18",  # full-width 03-1234-5678
    "٠٣١٢٣٤٥٦٧٨",
    "+1\u00a0202\u00a0555\u00a00101",
    "++1 202 555 0101",
    "☎ +1 202 555 0101",
    "+1 202 555 0101 / 0102",
    "abc 202 555 0101",
    "2025550101\x00",
    "1" * 300,
    "011 44 20 7946 0958",
    "+49 (0) 30 123456",
    "8 800 555 35 35",
    "+800 1234 5678",
    "+979 123456789",
)
_ODD_REGIONS = (None, "US", "GB", "RU", "ZZ", "us", "", "001")

# One input per disputed calling code on which rphonenumbers (metadata 9.0.41) and phonenumbers
# 9.0.43 disagree: (input, default region, calling code, what rphonenumbers answers). phonenumbers
# calls every one of them invalid (None), because the range was withdrawn after 9.0.41.
WITNESSES = (
    ("+7 930 000 00 00", "RU", 7, "+79300000000"),  # RU mobile 930 00…
    ("+34 590 10 01 23", "ES", 34, "+34590100123"),  # ES mobile 5901…
    ("+40 626 896 804", "RO", 40, "+40626896804"),  # RO mobile 62…
    ("37 12 19 91", "DK", 45, "+4537121991"),  # DK 37… (fixed and mobile)
    ("+57 910 100 0000", "CO", 57, "+579101000000"),  # CO mobile 9101…
    ("+86 378 123 0123", "CN", 86, "+863781230123"),  # CN fixed 378…
    ("+229 85 75 12 34", "BJ", 229, "+22985751234"),  # BJ 8-digit voip
    ("+263 20 37669", "ZW", 263, "+2632037669"),  # ZW fixed 20…
    ("+267 3210 0000", None, 267, "+26732100000"),  # BW mobile 321…
    ("+267 7910 0000", None, 267, "+26779100000"),  # BW voip 791…
    ("+358 4946 00", "FI", 358, "+358494600"),  # FI mobile 4946…
    ("0494600", "AX", 358, "+358494600"),  # AX shares FI's mobile ranges
    ("+506 2075 0207", "CR", 506, "+50620750207"),  # CR fixed 20…
    ("030 44 013 288", "LA", 856, "+8563044013288"),  # LA mobile 30…
)

# Ranges added after 9.0.41: rphonenumbers calls these invalid and phonenumbers valid, which is why
# a number rphonenumbers rejects is never rejected on its word.
NEWER_RANGES = (
    ("+290 97770", "SH", "+29097770"),  # SH mobile 9…
    ("+267 468 8507", "BW", "+2674688507"),  # BW fixed 46…
    ("+238 574 9267", "CV", "+2385749267"),  # CV mobile 57…
    ("+61 496 012 345", "AU", "+61496012345"),  # AU mobile 4960…
)


def _renderings(number: PhoneNumber) -> Iterator[str]:
    """The number as formatted by phonenumbers, then as people mistype or mangle it."""
    cc, nsn = number.country_code, phonenumbers.national_significant_number(number)
    for fmt in _FORMATS:
        yield phonenumbers.format_number(number, fmt)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    yield national.replace(" ", "-")
    yield f"({nsn[:3]}) {nsn[3:]}"
    yield f"00{cc} {nsn}"
    yield f"+{nsn}"
    yield nsn
    last, second = int(nsn[-1]), int(nsn[-2])
    mangled = (
        *(nsn[:-1] + str((last + step) % 10) for step in (1, 3, 7)),
        nsn[:-2] + str((second + 5) % 10) + nsn[-1],
        nsn + "0",
        nsn + "99",
        nsn[:-1],
        nsn[1:],
        "0" + nsn,
    )
    for digits in mangled:
        yield f"+{cc}{digits}"
        yield digits


def _corpus() -> list[tuple[str, str | None]]:
    """Example numbers of every type in every region phonenumbers knows, read with that region,
    with none and with US; then the odd inputs and the witnesses. Deterministic and de-duplicated."""
    cases: dict[tuple[str, str | None], None] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for raw in _renderings(example):
                for default in (region, None, "US") if raw.startswith(("+", "00")) else (region,):
                    cases[(raw, default)] = None
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            for raw in _renderings(example):
                cases[(raw, None)] = None
    for raw in _ODD_INPUTS:
        for default in _ODD_REGIONS:
            cases[(raw, default)] = None
    for raw, default, *_ in (*WITNESSES, *NEWER_RANGES):
        cases[(raw, default)] = None
    return list(cases)


def test_fast_path_gives_the_reference_answer_in_every_region() -> None:
    corpus = _corpus()
    uncached = normalize_phone.__wrapped__
    wrong = [
        (raw, region, got, want)
        for raw, region in corpus
        if (got := uncached(raw, region)) != (want := normalize_phone_reference(raw, region))
    ]
    assert not wrong, f"{len(wrong)} of {len(corpus)} differ, e.g. {wrong[:10]}"
    # The comparison means something only if rphonenumbers answered much of it itself.
    answered = sum(fast_e164(raw.strip(), region) is not None for raw, region in corpus)
    assert answered > len(corpus) // 5, (answered, len(corpus))


def test_each_disputed_calling_code_has_a_witness() -> None:
    assert {code for _, _, code, _ in WITNESSES} == DISPUTED_CALLING_CODES


@pytest.mark.parametrize(("raw", "region", "code", "rpn_answer"), WITNESSES)
def test_disputed_codes_are_needed(raw: str, region: str | None, code: int, rpn_answer: str) -> None:
    rpn = normalize._RPN
    assert rpn is not None
    number = rpn.parse(raw, region)
    assert number.country_code == code
    assert rpn.is_valid_number(number)
    assert rpn.format_number(number, rpn.PhoneNumberFormat.E164) == rpn_answer
    assert normalize_phone_reference(raw, region) is None
    assert normalize_phone.__wrapped__(raw, region) is None


@pytest.mark.parametrize(("raw", "region", "e164"), NEWER_RANGES)
def test_numbers_rphonenumbers_rejects_go_to_phonenumbers(raw: str, region: str, e164: str) -> None:
    rpn = normalize._RPN
    assert rpn is not None
    assert not rpn.is_valid_number(rpn.parse(raw, region))
    assert normalize_phone_reference(raw, region) == e164
    assert normalize_phone.__wrapped__(raw, region) == e164


def test_fast_path_is_on_for_the_audited_pair() -> None:
    assert normalize._RPN is not None, (
        f"phonenumbers {phonenumbers.__version__} is not the release DISPUTED_CALLING_CODES was "
        f"audited against {normalize._AUDITED_PAIR}: diff the two releases' region metadata, "
        "update the set and its witnesses, then _AUDITED_PAIR"
    )


def test_without_rphonenumbers_or_with_another_phonenumbers_the_reference_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phonenumbers, "__version__", "9.0.99")
    assert normalize._load_fast_phone() is None
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "rphonenumbers", None)  # import now raises ImportError
    assert normalize._load_fast_phone() is None
    monkeypatch.setattr(normalize, "_RPN", None)
    assert fast_e164("+1 202 555 0101", None) is None
    assert normalize_phone.__wrapped__("(202) 555-0101", "US") == "+12025550101"
    assert normalize_phone.__wrapped__("37 12 19 91", "DK") is None
