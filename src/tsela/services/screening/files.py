"""Reading watchlist files: CSV (people or document alerts, with a column mapping) and
FollowTheMoney JSON lines, each bad row reported with its line number.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pycountry

from tsela.domain.screening import BirthDate, normalise_document, normalise_name, parse_birth_date
from tsela.store.watchlists import AlertStatus, WatchlistCategory, WatchlistKind

FORMATS = ("csv", "ftm")
PERSON_FIELDS = (
    "name",
    "aliases",
    "birth_date",
    "nationality",
    "category",
    "reason",
    "valid_from",
    "valid_to",
    "documents",
    "id",
)
DOCUMENT_FIELDS = ("issuing_state", "number", "status", "reported_on")
REQUIRED = {WatchlistKind.PERSON: ("name",), WatchlistKind.DOCUMENT: DOCUMENT_FIELDS[:3]}
LIST_SEPARATOR = ";"
MAX_ROW_ERRORS_KEPT = 1_000


class ImportFileError(ValueError):
    """The whole file is unusable; nothing was written. ``errors`` lists bad rows if any."""

    def __init__(self, message: str, errors: Sequence[RowProblem] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_mapping(pairs: Sequence[str], kind: WatchlistKind) -> dict[str, str]:
    """``["Full Name=name", "DOB=birth_date"]`` -> ``{"name": "Full Name", ...}``."""
    known = PERSON_FIELDS if kind is WatchlistKind.PERSON else DOCUMENT_FIELDS
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, fld = pair.rpartition("=")
        column, fld = column.strip(), fld.strip()
        if not sep or not column or not fld:
            raise ValueError(f"column mapping {pair!r} is not COLUMN=FIELD")
        if fld not in known:
            raise ValueError(
                f"column mapping {pair!r}: unknown field {fld!r}; fields are {', '.join(known)}"
            )
        out[fld] = column
    return out


def country_code(value: str) -> str | None:
    """ISO alpha-3 for an alpha-2, alpha-3 or English country name (FtM uses 'ls', 'za')."""
    text = value.strip()
    if not text:
        return None
    found = None
    if len(text) == 2:
        found = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        found = pycountry.countries.get(alpha_3=text.upper())
    if found is None:
        try:
            found = pycountry.countries.lookup(text)
        except LookupError:
            return None
    return str(found.alpha_3)


def _split(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]


def _iso_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


@dataclass
class PersonRow:
    line: int
    external_id: str
    names: list[str]
    birth: BirthDate | None
    nationalities: list[str]
    documents: list[str]
    category: WatchlistCategory
    reason: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class DocumentRow:
    line: int
    issuing_state: str
    number: str
    status: AlertStatus
    reported_on: date | None


def _person(
    line: int,
    *,
    external_id: str,
    names: Sequence[str],
    birth_dates: Sequence[str],
    nationalities: Sequence[str],
    documents: Sequence[str],
    category: WatchlistCategory,
    reason: str,
    valid_from: str,
    valid_to: str,
    today: date,
    warnings: list[RowProblem],
) -> PersonRow:
    names = [n.strip() for n in names if n and n.strip()]
    if not names:
        raise ValueError("no name")
    for i, n in enumerate(names):
        normalise_name(n, where="name" if i == 0 else f"alias {n[:40]!r}")
    birth = None
    for raw in birth_dates:
        if not raw.strip():
            continue
        candidate = parse_birth_date(raw, today)
        if birth is None:
            birth = candidate
        elif candidate != birth:
            warnings.append(RowProblem(line, f"other birth date {raw} kept aside; using {birth}"))
    codes: list[str] = []
    for raw in nationalities:
        code = country_code(raw)
        if code is None:
            warnings.append(RowProblem(line, f"unknown country {raw!r} left out"))
        elif code not in codes:
            codes.append(code)
    docs = [d for d in (normalise_document(x) for x in documents) if d]
    if any(len(d) > 30 for d in docs):
        raise ValueError("document number longer than 30 characters")
    start = _iso_date(valid_from, "valid_from") if valid_from.strip() else None
    end = _iso_date(valid_to, "valid_to") if valid_to.strip() else None
    if start and end and end < start:
        raise ValueError(f"valid_to {end} is before valid_from {start}")
    return PersonRow(
        line=line,
        external_id=external_id[:200],
        names=names,
        birth=birth,
        nationalities=codes,
        documents=docs,
        category=category,
        reason=reason.strip(),
        valid_from=start,
        valid_to=end,
    )


def _category(value: str | None, default: WatchlistCategory) -> WatchlistCategory:
    if not value or not value.strip():
        return default
    try:
        return WatchlistCategory(value.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in WatchlistCategory)
        raise ValueError(f"category {value!r} is not one of {allowed}") from None


def _csv_rows(
    text: str, mapping: dict[str, str], kind: WatchlistKind
) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames
    if not header:
        raise ImportFileError("the CSV file is empty (no header line)")
    header = [h.strip() for h in header]
    reader.fieldnames = header
    known = PERSON_FIELDS if kind is WatchlistKind.PERSON else DOCUMENT_FIELDS
    columns = {f: mapping.get(f, f) for f in known}
    for fld in mapping:
        if mapping[fld] not in header:
            raise ImportFileError(
                f"mapped column {mapping[fld]!r} (for {fld}) is not in the header: "
                + ", ".join(header)
            )
    missing = [f for f in REQUIRED[kind] if columns[f] not in header]
    if missing:
        raise ImportFileError(
            f"the CSV header has no column for {', '.join(missing)}; header: {', '.join(header)}; "
            "map one with --map COLUMN=FIELD"
        )
    try:
        for row in reader:
            if None in row:
                yield reader.line_num, {"__error__": f"{len(row[None])} more values than columns"}
                continue
            values = {f: (row.get(c) or "") for f, c in columns.items() if c in header}
            yield reader.line_num, values
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: malformed CSV ({exc})") from None


def read_people_csv(
    text: str, mapping: dict[str, str], category: WatchlistCategory, today: date
) -> tuple[list[PersonRow], list[RowProblem], list[RowProblem]]:
    people: list[PersonRow] = []
    errors: list[RowProblem] = []
    warnings: list[RowProblem] = []
    for line, values in _csv_rows(text, mapping, WatchlistKind.PERSON):
        if "__error__" in values:
            errors.append(RowProblem(line, values["__error__"]))
            continue
        if not any(v.strip() for v in values.values()):
            continue  # blank line
        try:
            people.append(
                _person(
                    line,
                    external_id=values.get("id", ""),
                    names=[values.get("name", ""), *_split(values.get("aliases"))],
                    birth_dates=[values.get("birth_date", "")],
                    nationalities=_split(values.get("nationality")),
                    documents=_split(values.get("documents")),
                    category=_category(values.get("category"), category),
                    reason=values.get("reason", ""),
                    valid_from=values.get("valid_from", ""),
                    valid_to=values.get("valid_to", ""),
                    today=today,
                    warnings=warnings,
                )
            )
        except ValueError as exc:  # ScreeningInputError is a ValueError
            errors.append(RowProblem(line, str(exc)))
    return people, errors, warnings


def read_documents_csv(
    text: str, mapping: dict[str, str]
) -> tuple[list[DocumentRow], list[RowProblem], list[RowProblem]]:
    docs, errors = [], []
    for line, values in _csv_rows(text, mapping, WatchlistKind.DOCUMENT):
        if "__error__" in values:
            errors.append(RowProblem(line, values["__error__"]))
            continue
        if not any(v.strip() for v in values.values()):
            continue
        try:
            state = country_code(values["issuing_state"])
            if state is None:
                raise ValueError(f"issuing_state {values['issuing_state']!r} is not a country")
            number = normalise_document(values["number"])
            if not number or len(number) > 30:
                raise ValueError(f"document number {values['number'][:40]!r} is empty or too long")
            try:
                status = AlertStatus(values["status"].strip().lower())
            except ValueError:
                allowed = ", ".join(s.value for s in AlertStatus)
                raise ValueError(f"status {values['status']!r} is not one of {allowed}") from None
            reported = values.get("reported_on", "").strip()
            docs.append(
                DocumentRow(
                    line,
                    state,
                    number,
                    status,
                    _iso_date(reported, "reported_on") if reported else None,
                )
            )
        except ValueError as exc:
            errors.append(RowProblem(line, str(exc)))
    return docs, errors, []


def read_people_ftm(
    text: str, category: WatchlistCategory, today: date
) -> tuple[list[PersonRow], list[RowProblem], list[RowProblem], int]:
    """FollowTheMoney entities, one JSON object per line (OpenSanctions' ``entities.ftm.json``)."""
    people: list[PersonRow] = []
    errors: list[RowProblem] = []
    warnings: list[RowProblem] = []
    ignored = 0
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entity = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(RowProblem(line, f"not a JSON object ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:  # the decoder recurses once per level of nesting
            errors.append(RowProblem(line, "JSON nested too deeply for an FtM entity"))
            continue
        if not isinstance(entity, dict) or not isinstance(entity.get("properties", {}), dict):
            errors.append(
                RowProblem(line, "not an FtM entity (expected an object with properties)")
            )
            continue
        if entity.get("schema") != "Person":
            ignored += 1
            continue
        props: dict[str, Any] = entity.get("properties") or {}

        def values(*keys: str, p: dict[str, Any] = props) -> list[str]:
            out: list[str] = []
            for k in keys:
                v = p.get(k) or []
                for x in v if isinstance(v, list) else [v]:
                    if not isinstance(x, str | int | float):  # FtM values are strings
                        raise ValueError(f"property {k!r} holds a {type(x).__name__}, not text")
                    out.append(str(x))
            return out

        try:
            names = values("name")
            if not names:
                given = " ".join(values("firstName", "middleName"))
                names = [f"{given} {' '.join(values('lastName'))}".strip()]
            external_id = entity.get("id", "")
            if not isinstance(external_id, str | int):
                raise ValueError("the entity id is not text")
            person = _person(
                line,
                external_id=str(external_id),
                names=[*names, *values("alias")],
                birth_dates=values("birthDate"),
                nationalities=values("nationality", "citizenship"),
                documents=values("passportNumber", "idNumber"),
                category=category,
                reason="; ".join(values("topics", "notes"))[:2000],
                valid_from="",
                valid_to="",
                today=today,
                warnings=warnings,
            )
            datasets = entity.get("datasets")
            if datasets:
                if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
                    raise ValueError("datasets is not a list of names")
                person.extra["datasets"] = datasets
            people.append(person)
        except ValueError as exc:
            errors.append(RowProblem(line, str(exc)))
    return people, errors, warnings, ignored


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"the file is not UTF-8 text (byte {exc.start}, line {line}); save it as UTF-8"
        ) from None
