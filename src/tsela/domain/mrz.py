"""Machine readable zones (ICAO Doc 9303): parse, validate and generate.

Formats: TD1 (3 lines of 30, ID cards; Part 5), TD2 (2 x 36; Part 6), TD3 (2 x 44,
passports; Part 4), MRV-A (2 x 44) and MRV-B (2 x 36) visas (Part 7). Check digits follow
Part 3 section 4.9: weights 7-3-1 repeated, digits count their value, A-Z count 10-35 and
the filler ``<`` counts 0.

``parse`` accepts what a scanner or a person gives (lines joined or split, surrounding
spaces, lower case) and returns an ``MrzResult``: ``valid`` with the fields, or the fields
it could read plus one precise error per problem. Input that is no MRZ at all (no line
layout fits any format) raises ``MrzUnusable``. ``generate`` writes the lines for given
fields, so that ``parse(generate(f), today).fields() == f``.

Pure: no clock. ``today`` decides the century of two-digit years (birth dates lie in the
past, expiry dates at most 20 years ahead).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from tsela.domain.icao_codes import CODES_IN_USE, SPECIMEN_STATE, country_name, known_codes

TD1, TD2, TD3, MRVA, MRVB = "TD1", "TD2", "TD3", "MRVA", "MRVB"
FORMATS = (TD1, TD2, TD3, MRVA, MRVB)
# How the formats are written in messages.
LABELS = {TD1: "TD1", TD2: "TD2", TD3: "TD3", MRVA: "MRV-A", MRVB: "MRV-B"}
LINE_LENGTH = {TD1: 30, TD2: 36, TD3: 44, MRVA: 44, MRVB: 36}
LINE_COUNT = {TD1: 3, TD2: 2, TD3: 2, MRVA: 2, MRVB: 2}
# First letter of the document code: Part 4, P (passport); Part 7, V; Parts 5 and 6 (note
# k), A, C or I, then never V, and not I after A (AC only on crew member certificates).
DOCUMENT_CODE_FIRST = {TD1: "ACI", TD2: "ACI", TD3: "P", MRVA: "V", MRVB: "V"}
# Years ahead an expiry date may lie, for the choice of century.
EXPIRY_YEARS_AHEAD = 20

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
_ALPHABET_SET = frozenset(ALPHABET)
_DIGITS = "0123456789"
# Character -> check-digit value, applied to a whole line at once (bytes.translate).
_VALUES = bytes.maketrans(ALPHABET.encode("ascii"), bytes(range(36)) + b"\0")
_VALUE = {c: v for v, c in enumerate(ALPHABET[:36])} | {"<": 0}
_WEIGHTS = (7, 3, 1)
_LINE_OK = re.compile(r"[A-Z0-9<]+").fullmatch
_NAME_OK = re.compile(r"[A-Z<]+").fullmatch

# Common OCR confusions: what a wrong character in a digit field (or a letter field)
# most likely stands for.
LETTER_AS_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2"}
LETTER_AS_DIGIT |= {"S": "5", "G": "6", "T": "7", "B": "8"}
DIGIT_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "7": "T", "8": "B"}
# In mixed fields (document numbers) either may be misread as the other.
_SWAPS = {**{k: (v,) for k, v in DIGIT_AS_LETTER.items()}, "0": ("O", "Q", "D")}
_SWAPS |= {k: (v,) for k, v in LETTER_AS_DIGIT.items() if k not in _SWAPS}

_SEX = {"M": "M", "F": "F", "<": "X"}


class MrzUnusable(ValueError):
    """The input is not an MRZ at all: no format's line layout fits it."""


@dataclass(frozen=True, slots=True)
class MrzFields:
    """What an MRZ says, in plain values (the input of ``generate``)."""

    format: str
    document_type: str  # the document code without fillers: "P", "I", "ID", "V"...
    issuing_state: str
    surname: str  # primary identifier; components separated by one space
    given_names: str  # secondary identifiers, separated by one space
    document_number: str
    nationality: str
    birth_date: date | None  # None when unknown (fillers in the MRZ)
    expiry_date: date | None  # None when the document has no expiry (TD1/TD2 only)
    sex: str  # "M", "F" or "X" (unspecified, "<" in the MRZ)
    optional_data: str = ""  # trailing fillers removed
    optional_data_2: str = ""  # TD1 only: the optional data of line 2


class MrzResult(NamedTuple):
    """A parsed MRZ: the fields that could be read, and every problem found.

    Immutable; a NamedTuple rather than a frozen dataclass because it is built for every
    MRZ read and a frozen dataclass costs several times more to construct.
    """

    valid: bool
    format: str
    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    expiry_date: date | None
    sex: str
    optional_data: str
    optional_data_2: str
    errors: tuple[str, ...]  # each names the field, what it holds and what was expected
    hints: tuple[str, ...]  # likely OCR misreadings (O/0, I/1, B/8...)
    warnings: tuple[str, ...]  # true of a valid MRZ but worth a look (specimen, truncation)
    lines: tuple[str, ...]  # the lines as read, upper case, without surrounding spaces

    def fields(self) -> MrzFields:
        return MrzFields(
            format=self.format,
            document_type=self.document_type,
            issuing_state=self.issuing_state,
            surname=self.surname,
            given_names=self.given_names,
            document_number=self.document_number,
            nationality=self.nationality,
            birth_date=self.birth_date,
            expiry_date=self.expiry_date,
            sex=self.sex,
            optional_data=self.optional_data,
            optional_data_2=self.optional_data_2,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates in ISO 8601, country names beside the codes."""
        return {
            "valid": self.valid,
            "format": self.format,
            "document_type": self.document_type,
            "issuing_state": self.issuing_state,
            "issuing_state_name": country_name(self.issuing_state),
            "surname": self.surname,
            "given_names": self.given_names,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "nationality_name": country_name(self.nationality),
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "sex": self.sex,
            "optional_data": self.optional_data,
            "optional_data_2": self.optional_data_2,
            "errors": list(self.errors),
            "hints": list(self.hints),
            "warnings": list(self.warnings),
            "lines": list(self.lines),
        }


# --------------------------------------------------------------------------- check digits


def _weighted(values: bytes) -> int:
    # Sums over every third value run in C; far faster than a Python loop.
    return (7 * sum(values[0::3]) + 3 * sum(values[1::3]) + sum(values[2::3])) % 10


def check_digit(text: str) -> int:
    """The ICAO 9303 check digit of ``text`` (A-Z, 0-9 and < only)."""
    if not _LINE_OK(text):
        bad = next((c for c in text if c not in _ALPHABET_SET), "")
        raise ValueError(
            f"cannot compute a check digit over {text!r}: "
            + (f"{bad!r} is not an MRZ character" if bad else "it is empty")
        )
    return _weighted(text.encode("ascii").translate(_VALUES))


# --------------------------------------------------------------------------- parsing

# The 3-character MRZ form of every known code (with its fillers) -> the code.
_CODES = {code.ljust(3, "<"): code for code in known_codes()}
# Document codes that pass, per format -> the code without its filler.
_GOOD_CODES = {
    fmt: {
        first + second: (first + second).rstrip("<")
        for first in DOCUMENT_CODE_FIRST[fmt]
        for second in "<ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        if not (fmt in (TD1, TD2) and (second == "V" or first + second == "AI"))
    }
    for fmt in FORMATS
}
_EMPTY_TD3_OPTIONAL = frozenset({"<" * 14 + "<", "<" * 14 + "0"})  # data and check digit
_UNKNOWN_BIRTH = re.compile(r"\d\d<<<<|\d\d\d\d<<|<<<<<<").fullmatch


def _where(line: int, pos: int) -> str:
    return f"line {line + 1} position {pos + 1}"


class _Report:
    """The lines being read, and what is wrong with them. The happy path stays short:
    the detailed diagnosis runs only once something does not add up."""

    __slots__ = ("errors", "hints", "lines", "warnings")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.errors: list[str] = []
        self.hints: list[str] = []
        self.warnings: list[str] = []

    def check(self, label: str, line: int, start: int, end: int, values: bytes, at: int) -> None:
        """Compare the check digit at (line, at) with the one computed over ``values``.

        ``start``/``end`` locate the field (for OCR hints); start < 0 for the composite.
        """
        want = _weighted(values)
        got = self.lines[line][at]
        if got == _DIGITS[want]:
            return
        if got == "<" and start >= 0 and not self.lines[line][start:end].strip("<"):
            return  # an empty field may carry a filler as its check digit (Part 4, 4.2.2)
        shown = got if got in _DIGITS else repr(got)
        self.errors.append(f"{label} check digit is {shown}, expected {want} ({_where(line, at)})")
        if LETTER_AS_DIGIT.get(got) == _DIGITS[want]:
            self.hints.append(
                f"{label} check digit {got!r} ({_where(line, at)}) is probably {_DIGITS[want]!r}"
            )
        elif start >= 0 and got in _DIGITS:
            self._swap_hints(label, line, start, end, int(got))

    def _swap_hints(self, label: str, line: int, start: int, end: int, target: int) -> None:
        """Name single OCR swaps in the field that would make its check digit agree."""
        text = self.lines[line][start:end]
        total = check_digit(text)
        for i, c in enumerate(text):
            weight = _WEIGHTS[i % 3]
            for alt in _SWAPS.get(c, ()):
                # One character changed moves the weighted sum by weight x the value change.
                if (total + weight * (_VALUE[alt] - _VALUE[c])) % 10 == target:
                    self.hints.append(
                        f"{label}: the check digit agrees if {c!r} at "
                        f"{_where(line, start + i)} is read as {alt!r}"
                    )

    def code(self, label: str, line: int, start: int) -> str:
        raw = self.lines[line][start : start + 3]
        code = _CODES.get(raw)
        if code is not None:
            return code
        shown = raw.rstrip("<")
        if not shown:
            self.errors.append(f"{label} is empty ({_where(line, start)})")
            return ""
        self.errors.append(
            f"{label} {shown!r} ({_where(line, start)}) is not an ICAO or ISO 3166-1 country code"
        )
        fixed = "".join(DIGIT_AS_LETTER.get(c, c) for c in raw)
        if fixed != raw and fixed in _CODES:
            self.hints.append(f"{label} {shown!r} is probably {fixed.rstrip('<')!r} (OCR)")
        return shown

    def document_code(self, fmt: str) -> str:
        raw = self.lines[0][0:2]
        first, second = tuple(raw)
        allowed = DOCUMENT_CODE_FIRST[fmt]
        if first not in allowed:
            letters = (
                allowed if len(allowed) == 1 else ", ".join(allowed[:-1]) + " or " + allowed[-1]
            )
            self.errors.append(
                f"document code {raw!r} ({_where(0, 0)}) does not fit a {LABELS[fmt]}: "
                f"its first letter must be {letters}"
            )
        if not (second == "<" or "A" <= second <= "Z"):
            self.errors.append(
                f"document code {raw!r} ({_where(0, 1)}): the second character must be a "
                "letter or <"
            )
        elif fmt in (TD1, TD2) and (second == "V" or raw == "AI"):
            self.errors.append(
                f"document code {raw!r} ({_where(0, 1)}): {second} may not follow {first} on "
                f"a {LABELS[fmt]}"
            )
        return raw.rstrip("<")

    def name(self, line: int, start: int, end: int) -> tuple[str, str]:
        """Primary and secondary identifiers, split on the first '<<', fillers removed."""
        field = self.lines[line][start:end]
        if not _NAME_OK(field):
            self._bad_name(field, line, start)
        core = field.rstrip("<")
        if not core:
            self.errors.append(f"name is empty ({_where(line, start)})")
            return "", ""
        if len(core) == len(field):
            self.warnings.append("the name fills its whole field and may be truncated")
        primary, _, secondary = core.partition("<<")
        surname = primary.replace("<", " ").strip()
        if "<<" in secondary or secondary.startswith("<"):
            given = " ".join(secondary.replace("<", " ").split())
        else:
            given = secondary.replace("<", " ")
        if not surname:
            self.warnings.append("the name has no primary identifier (surname)")
        return surname, given

    def _bad_name(self, field: str, line: int, start: int) -> None:
        for i, c in enumerate(field):
            if c != "<" and not "A" <= c <= "Z":
                self.errors.append(
                    f"name has {c!r} at {_where(line, start + i)}: names are letters A-Z with "
                    "< between parts"
                )
                if c in DIGIT_AS_LETTER:
                    self.hints.append(
                        f"name: {c!r} at {_where(line, start + i)} is probably "
                        f"{DIGIT_AS_LETTER[c]!r}"
                    )

    def sex(self, line: int, at: int) -> str:
        raw = self.lines[line][at]
        sex = _SEX.get(raw)
        if sex is not None:
            return sex
        self.errors.append(f"sex is {raw!r} ({_where(line, at)}), expected M, F or <")
        if raw in ("X", "x"):
            self.hints.append("an unspecified sex is written < in the MRZ (X only in the VIZ)")
        return raw

    def when(
        self, label: str, line: int, start: int, values: bytes, today: date, birth: bool
    ) -> date | None:
        """The date at (line, start) and its check digit (the next character)."""
        text = self.lines[line]
        raw = text[start : start + 6]
        if raw.isdigit():
            found, digit = _read_date(raw, today, birth)
            if text[start + 6] != digit:
                self.check(label, line, start, start + 6, values[start : start + 6], start + 6)
            if type(found) is date:
                return found
            self.errors.append(f"{label} {raw} ({_where(line, start)}) is not a date: {found}")
            return None
        if birth and _UNKNOWN_BIRTH(raw):
            # Part 3: unknown parts of a birth date are fillers.
            self.warnings.append(f"birth date is partly or wholly unknown ({raw})")
        elif birth or raw != "<<<<<<":  # no expiry: allowed on TD1 and TD2 (the caller checks)
            self._bad_date(label, raw, line, start)
        self.check(label, line, start, start + 6, values[start : start + 6], start + 6)
        return None

    def _bad_date(self, label: str, raw: str, line: int, start: int) -> None:
        for i, c in enumerate(raw):
            if c not in _DIGITS:
                self.errors.append(
                    f"{label} {raw} has {c!r} at {_where(line, start + i)}: dates are digits YYMMDD"
                )
                if c in LETTER_AS_DIGIT:
                    self.hints.append(
                        f"{label}: {c!r} at {_where(line, start + i)} is probably "
                        f"{LETTER_AS_DIGIT[c]!r}"
                    )

    def result(
        self,
        fmt: str,
        document_type: str,
        issuing: str,
        names: tuple[str, str],
        number: str,
        nationality: str,
        birth: date | None,
        expiry: date | None,
        sex: str,
        optional: str,
        optional_2: str,
    ) -> MrzResult:
        if issuing == SPECIMEN_STATE:
            self.warnings.append(
                "issuing state UTO is ICAO's fictional Utopia: this is a specimen document"
            )
        for label, code in (("issuing state", issuing), ("nationality", nationality)):
            if code in CODES_IN_USE:
                self.warnings.append(
                    f"{label} {code} is in use but in neither ISO 3166-1 nor ICAO Doc 9303"
                )
        if birth is not None and expiry is not None and expiry <= birth:
            self.errors.append(
                f"expiry date {expiry.isoformat()} is not after birth date {birth.isoformat()}"
            )
        errors = self.errors
        return MrzResult(
            not errors,
            fmt,
            document_type,
            issuing,
            names[0],
            names[1],
            number,
            nationality,
            birth,
            expiry,
            sex,
            optional,
            optional_2,
            tuple(errors),
            tuple(self.hints),
            tuple(self.warnings),
            tuple(self.lines),
        )


def _calendar(year: int, month: int, day: int) -> date | str:
    if not 1 <= month <= 12:
        return f"there is no month {month:02d}"
    try:
        return date(year, month, day)
    except ValueError:
        return f"there is no day {day:02d} in {year}-{month:02d}"


def _century(yy: int, month: int, day: int, limit: date) -> int:
    """The latest year ending in yy whose date is not after ``limit``."""
    year = limit.year - limit.year % 100 + yy
    if (year, month, day) > (limit.year, limit.month, limit.day):
        year -= 100
    return year


# Dates repeat across documents, so each day's readings of YYMMDD are kept:
# {today: ({birth YYMMDD: (date or why not, check digit)}, {expiry YYMMDD: ...})}.
_DateCache = dict[str, tuple[date | str, str]]
_DATE_CACHES: dict[date, tuple[_DateCache, _DateCache]] = {}
_CACHE_LIMIT = 1 << 17


def _date_caches(today: date) -> tuple[_DateCache, _DateCache]:
    caches = _DATE_CACHES.get(today)
    if caches is None:
        if len(_DATE_CACHES) > 3:
            _DATE_CACHES.clear()
        caches = _DATE_CACHES[today] = ({}, {})
    return caches


def _read_date(raw: str, today: date, birth: bool) -> tuple[date | str, str]:
    """(the date or why it is none, the check digit) of six digits YYMMDD."""
    cache = _date_caches(today)[0 if birth else 1]
    found = cache.get(raw)
    if found is None:
        yy, month, day = int(raw[0:2]), int(raw[2:4]), int(raw[4:6])
        limit = today if birth else _years_later(today, EXPIRY_YEARS_AHEAD)
        year = _century(yy, month, day, limit)
        found = (_calendar(year, month, day), _DIGITS[check_digit(raw)])
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[raw] = found
    return found


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


_JOINED = {90: (TD1, 30), 72: (TD2, 36), 88: (TD3, 44)}


def _split(mrz: str | Iterable[str]) -> tuple[str, list[str]]:
    """Normalise the input into the lines of one format, or say why it cannot be an MRZ."""
    if not isinstance(mrz, str):
        items = list(mrz)
        for item in items:
            if not isinstance(item, str):
                raise MrzUnusable(f"MRZ lines must be text, not {type(item).__name__}")
        mrz = "\n".join(items)
    # ASCII-only upper case: str.upper() would turn a stray 'ß' into two characters.
    text = mrz.upper() if mrz.isascii() else "".join(map(_ascii_upper, mrz))
    parts = text.split()
    if not parts:
        raise MrzUnusable("no MRZ given: the input is empty")
    if len(parts) == 1:
        whole = parts[0]
        size = len(whole)
        if size in _JOINED:
            width = _JOINED[size][1]
            parts = [whole[i : i + width] for i in range(0, size, width)]
        elif size in (30, 36, 44):
            raise MrzUnusable(
                f"only one line of {size} characters: "
                + {
                    30: "TD1 has 3 lines",
                    36: "TD2 and MRV-B have 2 lines",
                    44: "TD3 and MRV-A have 2 lines",
                }[size]
            )
        else:
            raise MrzUnusable(
                f"one line of {size} characters fits no MRZ format: expected 3 lines of 30 "
                "(TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 (TD3, MRV-A), joined or split"
            )
    count = len(parts)
    if count == 3:
        fmt = TD1
    elif count == 2:
        sizes = (len(parts[0]), len(parts[1]))
        if 44 in sizes:
            width = 44
        elif 36 in sizes:
            width = 36
        else:
            raise MrzUnusable(
                f"2 lines of {sizes[0]} and {sizes[1]} characters fit no MRZ format: a 2-line "
                "MRZ has 36 (TD2, MRV-B) or 44 (TD3, MRV-A) characters per line"
            )
        visa = parts[0][0] == "V"
        fmt = (MRVA if visa else TD3) if width == 44 else (MRVB if visa else TD2)
    else:
        raise MrzUnusable(
            f"{count} lines given: an MRZ has 2 lines (TD2, TD3, MRV-A, MRV-B) or 3 (TD1)"
        )
    need = LINE_LENGTH[fmt]
    for i, part in enumerate(parts):
        if len(part) != need:
            raise MrzUnusable(
                f"line {i + 1} has {len(part)} characters, {LABELS[fmt]} needs {need}"
            )
    return fmt, parts


def _ascii_upper(c: str) -> str:
    return c.upper() if c.isascii() else c


def parse(mrz: str | Iterable[str], today: date) -> MrzResult:
    """Read and validate an MRZ (one string, or its lines).

    Raises ``MrzUnusable`` when the input fits no format; every other problem is an entry
    of ``errors`` and makes ``valid`` false.
    """
    fmt, lines = _split(mrz)
    report = _Report(lines)
    if not _LINE_OK("".join(lines)):
        _bad_characters(report)
    if fmt == TD1:
        return _parse_td1(lines, report, today)
    return _parse_two_lines(fmt, lines, report, today)


def _bad_characters(report: _Report) -> None:
    lines = report.lines
    for i, line in enumerate(lines):
        if not _LINE_OK(line):
            for j, c in enumerate(line):
                if c not in _ALPHABET_SET:
                    report.errors.append(
                        f"{c!r} at {_where(i, j)} is not an MRZ character (A-Z, 0-9 and < only)"
                    )
            # Read on with a filler there, to report the fields' own problems too.
            lines[i] = "".join(c if c in _ALPHABET_SET else "<" for c in line)


def _extended_number(
    report: _Report, line: int, number_at: int, check_at: int, opt_at: int, opt_end: int
) -> tuple[str, str] | None:
    """A TD1/TD2 document number longer than 9 characters (Parts 5 and 6, note j).

    Its first 9 characters fill the number field, a filler takes the place of the check
    digit, and the rest of the number, its check digit and a filler open the optional
    data. Returns (number, the rest of the optional data), or None if not extended.
    """
    text = report.lines[line]
    principal = text[number_at:check_at]
    if text[check_at] != "<" or "<" in principal:
        return None
    optional = text[opt_at:opt_end]
    stop = optional.find("<")
    if stop == -1:
        stop = len(optional)
    if stop < 2:
        report.errors.append(
            f"document number check digit is missing ({_where(line, check_at)} is a filler "
            "and the optional data holds no continuation of the number)"
        )
        return principal, optional.rstrip("<")
    number = principal + optional[: stop - 1]
    digit_at = opt_at + stop - 1
    want = check_digit(number)
    got = text[digit_at]
    if got != _DIGITS[want]:
        shown = got if got in _DIGITS else repr(got)
        report.errors.append(
            f"document number check digit is {shown}, expected {want} ({_where(line, digit_at)})"
        )
    return number, optional[stop + 1 :].rstrip("<")


def _number(report: _Report, line: int, start: int) -> str:
    number = report.lines[line][start : start + 9].rstrip("<")
    if not number:
        report.errors.append(f"document number is empty ({_where(line, start)})")
    return number


def _parse_two_lines(fmt: str, lines: list[str], report: _Report, today: date) -> MrzResult:
    """TD2, TD3, MRV-A and MRV-B share line 1 and the first 28 characters of line 2."""
    l2 = lines[1]
    v2 = l2.encode("ascii").translate(_VALUES)
    width = LINE_LENGTH[fmt]
    l1 = lines[0]
    # Each lookup below is the whole check for a good field; the report explains bad ones.
    document_type = _GOOD_CODES[fmt].get(l1[0:2]) or report.document_code(fmt)
    issuing = _CODES.get(l1[2:5]) or report.code("issuing state", 0, 2)
    names = report.name(0, 5, width)
    extended = _extended_number(report, 1, 0, 9, 28, 35) if fmt == TD2 else None
    if extended is None:
        number = l2[0:9].rstrip("<") or _number(report, 1, 0)
        if l2[9] != _DIGITS[_weighted(v2[0:9])]:
            report.check("document number", 1, 0, 9, v2[0:9], 9)
        optional = l2[28:42] if fmt == TD3 else l2[28:35] if fmt == TD2 else l2[28:width]
        optional = optional.rstrip("<")
    else:
        number, optional = extended
    nationality = _CODES.get(l2[10:13]) or report.code("nationality", 1, 10)
    births, expiries = _date_caches(today)
    # Fast path: a date already seen today, with its check digit right.
    hit = births.get(l2[13:19])
    if hit is not None and type(hit[0]) is date and l2[19] == hit[1]:
        birth: date | None = hit[0]
    else:
        birth = report.when("birth date", 1, 13, v2, today, birth=True)
    sex = _SEX.get(l2[20]) or report.sex(1, 20)
    hit = expiries.get(l2[21:27])
    if hit is not None and type(hit[0]) is date and l2[27] == hit[1]:
        expiry: date | None = hit[0]
    else:
        expiry = report.when("expiry date", 1, 21, v2, today, birth=False)
    if fmt != TD2 and expiry is None and l2[21:27] == "<<<<<<":
        report.errors.append(f"expiry date is empty ({_where(1, 21)}): a {LABELS[fmt]} has one")
    if fmt == TD3:
        if l2[28:43] not in _EMPTY_TD3_OPTIONAL:
            report.check("optional data", 1, 28, 42, v2[28:42], 42)
        composite = v2[0:10] + v2[13:20] + v2[21:43]
        if l2[43] != _DIGITS[_weighted(composite)]:
            report.check("composite", 1, -1, -1, composite, 43)
    elif fmt == TD2:
        composite = v2[0:10] + v2[13:20] + v2[21:35]
        if l2[35] != _DIGITS[_weighted(composite)]:
            report.check("composite", 1, -1, -1, composite, 35)
    return report.result(
        fmt, document_type, issuing, names, number, nationality, birth, expiry, sex, optional, ""
    )


def _parse_td1(lines: list[str], report: _Report, today: date) -> MrzResult:
    l1, l2 = lines[0], lines[1]
    v1 = l1.encode("ascii").translate(_VALUES)
    v2 = l2.encode("ascii").translate(_VALUES)
    document_type = _GOOD_CODES[TD1].get(l1[0:2]) or report.document_code(TD1)
    issuing = _CODES.get(l1[2:5]) or report.code("issuing state", 0, 2)
    extended = _extended_number(report, 0, 5, 14, 15, 30)
    if extended is None:
        number = l1[5:14].rstrip("<") or _number(report, 0, 5)
        if l1[14] != _DIGITS[_weighted(v1[5:14])]:
            report.check("document number", 0, 5, 14, v1[5:14], 14)
        optional = l1[15:30].rstrip("<")
    else:
        number, optional = extended
    births, expiries = _date_caches(today)
    hit = births.get(l2[0:6])
    if hit is not None and type(hit[0]) is date and l2[6] == hit[1]:
        birth: date | None = hit[0]
    else:
        birth = report.when("birth date", 1, 0, v2, today, birth=True)
    sex = _SEX.get(l2[7]) or report.sex(1, 7)
    hit = expiries.get(l2[8:14])
    if hit is not None and type(hit[0]) is date and l2[14] == hit[1]:
        expiry: date | None = hit[0]
    else:
        expiry = report.when("expiry date", 1, 8, v2, today, birth=False)
    nationality = _CODES.get(l2[15:18]) or report.code("nationality", 1, 15)
    composite = v1[5:30] + v2[0:7] + v2[8:15] + v2[18:29]
    if l2[29] != _DIGITS[_weighted(composite)]:
        report.check("composite", 1, -1, -1, composite, 29)
    names = report.name(2, 0, 30)
    return report.result(
        TD1,
        document_type,
        issuing,
        names,
        number,
        nationality,
        birth,
        expiry,
        sex,
        optional,
        l2[18:29].rstrip("<"),
    )


# --------------------------------------------------------------------------- generating

# ICAO Doc 9303 Part 3, section 6 (transliteration of multinational Latin characters);
# letters not listed lose their diacritics (É -> E, Š -> S).
TRANSLITERATION = {
    "Ä": "AE", "Å": "AA", "Æ": "AE", "Ö": "OE", "Ø": "OE", "Ü": "UE", "ß": "SS",
    "Þ": "TH", "Ð": "D", "Đ": "D", "Ł": "L", "Œ": "OE", "Ĳ": "IJ", "Ħ": "H", "Ŧ": "T",
    "Ŋ": "N", "Ŀ": "L",
}  # fmt: skip


def mrz_name(text: str) -> str:
    """A name as it stands in an MRZ: A-Z, words joined by '<' (Part 3, 4.6).

    Apostrophes are dropped, hyphens, spaces and other punctuation separate words.
    """
    upper = "".join(TRANSLITERATION.get(c, c) for c in text.upper().replace("ẞ", "ß"))
    plain = "".join(c for c in unicodedata.normalize("NFKD", upper) if not unicodedata.combining(c))
    plain = plain.replace("'", "").replace("\u2019", "")
    return "<".join(w for w in re.split(r"[^A-Z]+", plain) if w)


def _mrz_date(value: date | None) -> str:
    if value is None:
        return "<<<<<<"
    return f"{value.year % 100:02d}{value.month:02d}{value.day:02d}"


def _field(value: str, width: int, label: str, fmt: str) -> str:
    if not re.fullmatch(r"[A-Z0-9<]*", value):
        bad = next(c for c in value if c not in _ALPHABET_SET)
        raise ValueError(f"{label} {value!r} has {bad!r}: only A-Z, 0-9 and < may stand there")
    if len(value) > width:
        raise ValueError(
            f"{label} {value!r} has {len(value)} characters; a {LABELS[fmt]} has room for {width}"
        )
    return value.ljust(width, "<")


def _state_field(code: str, label: str) -> str:
    if not known_codes().get(code):
        raise ValueError(f"{label} {code!r} is not an ICAO or ISO 3166-1 country code")
    return code.ljust(3, "<")


def _number_fields(number: str, optional: str, room: int, fmt: str) -> tuple[str, str]:
    """(number field with its check digit, optional data field)."""
    if not re.fullmatch(r"[A-Z0-9]+", number):
        raise ValueError(f"document number {number!r} must be letters A-Z and digits only")
    digit = str(check_digit(number))
    if len(number) <= 9:
        return number.ljust(9, "<") + digit, _field(optional, room, "optional data", fmt)
    if fmt not in (TD1, TD2):
        raise ValueError(
            f"document number {number!r} has {len(number)} characters; a {LABELS[fmt]} has "
            "room for 9"
        )
    # Part 5/6 note j: the overflow and its check digit open the optional data.
    head = number[9:] + digit + ("<" + optional if optional else "")
    if len(head) > room:
        raise ValueError(
            f"document number {number!r} and optional data {optional!r} do not fit the "
            f"{room} places of a {LABELS[fmt]}"
        )
    return number[:9] + "<", _field(head, room, "optional data", fmt)


def generate(fields: MrzFields) -> list[str]:
    """The MRZ lines for ``fields``, with every check digit computed.

    Raises ValueError naming the field that cannot be written in the format.
    """
    fmt = fields.format
    if fmt not in LINE_LENGTH:
        raise ValueError(f"unknown MRZ format {fmt!r}: one of {', '.join(FORMATS)}")
    width = LINE_LENGTH[fmt]
    code = fields.document_type
    if (
        not re.fullmatch(r"[A-Z][A-Z<]?", code)
        or code[0] not in DOCUMENT_CODE_FIRST[fmt]
        or (fmt in (TD1, TD2) and (code[1:] == "V" or code == "AI"))
    ):
        raise ValueError(
            f"document type {code!r} does not fit a {LABELS[fmt]}: one or two letters, the "
            f"first one of {', '.join(DOCUMENT_CODE_FIRST[fmt])}"
            + (", the second not V, nor I after A" if fmt in (TD1, TD2) else "")
        )
    sex = {"M": "M", "F": "F", "X": "<"}.get(fields.sex)
    if sex is None:
        raise ValueError(f"sex {fields.sex!r} must be M, F or X")
    if fields.expiry_date is None and fmt not in (TD1, TD2):
        raise ValueError(f"expiry date is required on a {LABELS[fmt]}")
    if fields.optional_data_2 and fmt != TD1:
        raise ValueError("optional_data_2 exists on TD1 only")
    issuing = _state_field(fields.issuing_state, "issuing state")
    nationality = _state_field(fields.nationality, "nationality")
    birth = _mrz_date(fields.birth_date)
    birth += str(check_digit(birth))
    expiry = _mrz_date(fields.expiry_date)
    expiry += str(check_digit(expiry))
    surname, given = mrz_name(fields.surname), mrz_name(fields.given_names)
    if not surname and not given:
        raise ValueError("a name is required: surname and given names are both empty")
    name = surname + ("<<" + given if given else "")
    name_width = 30 if fmt == TD1 else width - 5
    # Part 3, 4.6: a name too long for its field is cut; its last place then holds a letter.
    name = name[:name_width].ljust(name_width, "<")
    head = code.ljust(2, "<") + issuing
    if fmt == TD1:
        number, optional = _number_fields(fields.document_number, fields.optional_data, 15, fmt)
        line1 = head + number + optional
        optional_2 = _field(fields.optional_data_2, 11, "optional data 2", fmt)
        line2 = birth + sex + expiry + nationality + optional_2
        line2 += str(check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]))
        return [line1, line2, name]
    room = {TD2: 7, TD3: 14, MRVA: 16, MRVB: 8}[fmt]
    number, optional = _number_fields(fields.document_number, fields.optional_data, room, fmt)
    line2 = number + nationality + birth + sex + expiry + optional
    if fmt == TD3:
        line2 += "<" if not optional.strip("<") else str(check_digit(optional))
        line2 += str(check_digit(line2[0:10] + line2[13:20] + line2[21:43]))
    elif fmt == TD2:
        line2 += str(check_digit(line2[0:10] + line2[13:20] + line2[21:35]))
    return [head + name, line2]
