"""Scoring one query against one watchlist entry: a score in [0, 1] and the reasons.

The name part aligns tokens regardless of order (greedy best pairs), each pair scored with
rapidfuzz (Jaro-Winkler and optimal-string-alignment distance, averaged) on both the plain
and the orthography-folded forms, so "Tšepo" meets "Tshepo" and "Lineo" meets "Dineo".
Birth date, nationality and document number then move the score up or down by the fixed
amounts below, chosen on the evaluation set (bench/screening_eval.py, docs/screening.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz.distance import OSA, Indel, JaroWinkler

from tsela.domain.screening.normalise import (
    NameToken,
    NormalisedName,
    ScreeningInputError,
    normalise_name,
)
from tsela.domain.screening.orthography import rules_explaining
from tsela.reference import is_country

# A hit is reported at or above this score. Tuned on the evaluation set generated with
# seed 1 and checked on seed 2 (docs/benchmarks.md, "Screening").
THRESHOLD = 0.83

# Token pairs below this similarity are not aligned at all.
PAIR_MIN = 0.55
INITIAL_SIMILARITY = 0.9
INITIAL_WEIGHT = 0.35
# Each token present on one side only (a dropped middle name) costs a little.
UNMATCHED_TOKEN_FACTOR = 0.96
# One shared word ("Mokoena") is weak evidence when either name has more; one word and
# initials ("T. Mokoena") somewhat less weak.
SINGLE_TOKEN_FACTOR = 0.8
INITIALS_FACTOR = 0.9
COMPOUND_CORE_FACTOR = 0.95
TRANSLIT_FACTOR = 0.95
JOINED_FACTOR = 0.95

DOB_ADJUST = {
    "exact": 0.08,
    "day_month_swapped": 0.04,
    "year_agrees": 0.02,
    "one_digit_differs": -0.05,
    "same_year_other_day": -0.25,
    "year_near": -0.15,
    "conflict": -0.35,
    # Nothing to confirm the name by: namesakes cannot be told apart, so the name alone
    # must be near-perfect to make a hit.
    "unknown": -0.05,
}
NATIONALITY_ADJUST = {"match": 0.02, "conflict": -0.08, "unknown": 0.0}
DOCUMENT_SCORE = 0.99

EARLIEST_BIRTH_YEAR = 1880


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A full or partial birth date (lists often know the year only)."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def full(self) -> bool:
        return self.month is not None and self.day is not None

    def __str__(self) -> str:
        if self.full:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month is not None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"


def parse_birth_date(
    value: str | date | None, today: date, where: str = "birth date"
) -> BirthDate | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (or a date); absurd dates are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parts: list[int] = [value.year, value.month, value.day]
    else:
        text = str(value).strip()
        if len(text) > 10:
            raise ScreeningInputError(f"{where} {text[:20]!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        pieces = text.split("-")
        if not 1 <= len(pieces) <= 3 or not all(p.isdigit() for p in pieces):
            raise ScreeningInputError(f"{where} {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        parts = [int(p) for p in pieces]
    year = parts[0]
    if not EARLIEST_BIRTH_YEAR <= year <= today.year:
        raise ScreeningInputError(
            f"{where} {value}: year {year} is outside {EARLIEST_BIRTH_YEAR}-{today.year}"
        )
    month = parts[1] if len(parts) > 1 else None
    day = parts[2] if len(parts) > 2 else None
    if month is not None and not 1 <= month <= 12:
        raise ScreeningInputError(f"{where} {value}: month {month} is not 1-12")
    if day is not None:
        assert month is not None
        try:
            born = date(year, month, day)
        except ValueError as exc:
            raise ScreeningInputError(f"{where} {value}: {exc}") from None
        if born > today:
            raise ScreeningInputError(f"{where} {value} is in the future")
    return BirthDate(year, month, day)


def normalise_document(number: str) -> str:
    """Upper-case letters and digits only: "ra 123-456" -> "RA123456"."""
    return "".join(c for c in number.upper() if c.isalnum())


@dataclass(frozen=True)
class ScreeningQuery:
    names: tuple[NormalisedName, ...]
    birth: BirthDate | None = None
    nationality: str | None = None  # ISO 3166-1 alpha-3
    documents: tuple[str, ...] = ()  # normalised numbers
    on: date | None = None  # entries not valid on this day are ignored


@dataclass(frozen=True)
class Candidate:
    """What the scorer needs of a watchlist entry."""

    names: tuple[NormalisedName, ...]
    birth: BirthDate | None = None
    nationalities: frozenset[str] = frozenset()
    documents: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Score:
    score: float
    features: dict[str, Any] = field(default_factory=dict)
    explanation: tuple[str, ...] = ()
    matched_name: str = ""


def _pair_similarity(a: str, b: str) -> float:
    return (JaroWinkler.normalized_similarity(a, b) + OSA.normalized_similarity(a, b)) / 2


def token_similarity(q: NameToken, e: NameToken) -> tuple[float, str]:
    """Similarity of two tokens in [0, 1] and how they met."""
    if q.initial or e.initial:
        if q.plain[0] == e.plain[0] or q.folded[:1] == e.folded[:1]:
            return (1.0 if q.plain == e.plain else INITIAL_SIMILARITY), "initial"
        return 0.0, ""
    if q.plain == e.plain:
        return 1.0, "exact"
    if q.folded == e.folded:
        return 1.0, "orthography"
    best = max(_pair_similarity(q.plain, e.plain), _pair_similarity(q.folded, e.folded))
    how = "spelling"
    # Names that went through another script (Cyrillic, Arabic...) and back.
    translit = _pair_similarity(q.translit, e.translit) * TRANSLIT_FACTOR
    if translit > best:
        best, how = translit, "transliteration"
    if q.core != q.folded or e.core != e.folded:
        core = _pair_similarity(q.core, e.core) * COMPOUND_CORE_FACTOR
        if core > best:
            best, how = core, "compound"
    return best, how


def _weight(t: NameToken) -> float:
    return INITIAL_WEIGHT if t.initial else 1.0


def name_similarity(q: NormalisedName, e: NormalisedName) -> tuple[float, list[dict[str, Any]]]:
    """Order-independent similarity of two names and the aligned token pairs."""
    pairs = []
    for i, qt in enumerate(q.tokens):
        for j, et in enumerate(e.tokens):
            sim, how = token_similarity(qt, et)
            if sim >= PAIR_MIN:
                pairs.append((sim, i, j, how))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_q: set[int] = set()
    used_e: set[int] = set()
    aligned: list[dict[str, Any]] = []
    numerator = 0.0
    strong = 0.0
    for sim, i, j, how in pairs:
        if i in used_q or j in used_e:
            continue
        used_q.add(i)
        used_e.add(j)
        qt, et = q.tokens[i], e.tokens[j]
        numerator += sim * min(_weight(qt), _weight(et))
        strong += 0.5 if how == "initial" else 1.0
        aligned.append({"query": qt.raw, "entry": et.raw, "similarity": round(sim, 3), "how": how})
    q_weight = sum(_weight(t) for t in q.tokens)
    e_weight = sum(_weight(t) for t in e.tokens)
    score = numerator / min(q_weight, e_weight)
    unmatched = (len(q.tokens) - len(used_q)) + (len(e.tokens) - len(used_e))
    score *= UNMATCHED_TOKEN_FACTOR**unmatched
    if strong < 2 and max(len(q.tokens), len(e.tokens)) > 1:
        score *= INITIALS_FACTOR if strong >= 1.5 else SINGLE_TOKEN_FACTOR
    # Words run together or split differently ("Mokoena-Mofokeng", "vanderMerwe").
    joined = Indel.normalized_similarity(
        "".join(t.folded for t in q.tokens), "".join(t.folded for t in e.tokens)
    )
    if joined * JOINED_FACTOR > score and len(q.tokens) != len(e.tokens):
        score = joined * JOINED_FACTOR
        aligned = [
            {
                "query": q.display,
                "entry": e.display,
                "similarity": round(joined, 3),
                "how": "joined",
            }
        ]
    return min(score, 1.0), aligned


def compare_birth(q: BirthDate | None, e: BirthDate | None) -> str:
    """How two (possibly partial) birth dates agree: a key of ``DOB_ADJUST``."""
    if q is None or e is None:
        return "unknown"
    if q.full and e.full:
        if (q.year, q.month, q.day) == (e.year, e.month, e.day):
            return "exact"
        if q.year == e.year and (q.month, q.day) == (e.day, e.month):
            return "day_month_swapped"
        qs, es = str(q), str(e)
        differing = [k for k in range(len(qs)) if qs[k] != es[k]]
        if len(differing) == 1 or (
            len(differing) == 2
            and differing[1] == differing[0] + 1
            and qs[differing[0]] == es[differing[1]]
            and qs[differing[1]] == es[differing[0]]
        ):
            return "one_digit_differs"
        if q.year == e.year:
            return "same_year_other_day"
        return "conflict"
    # At least one side is partial: compare what both know.
    if q.year != e.year:
        return "year_near" if abs(q.year - e.year) == 1 else "conflict"
    if q.month is not None and e.month is not None and q.month != e.month:
        return "same_year_other_day"
    return "year_agrees"


def compare_nationality(q: str | None, e: frozenset[str]) -> str:
    if not q or not e:
        return "unknown"
    return "match" if q in e else "conflict"


_DOB_WORDS = {
    "exact": "birth date {q} matches",
    "day_month_swapped": "birth date {q} matches {e} with day and month swapped",
    "year_agrees": "birth year agrees ({q} / {e})",
    "one_digit_differs": "birth date {q} differs from {e} by one digit (possible typing error)",
    "same_year_other_day": "birth date {q} differs from {e} (same year)",
    "year_near": "birth year {q} is one year from {e}",
    "conflict": "birth date {q} conflicts with {e}",
    "unknown": "no birth date to compare",
}


def _describe_pairs(aligned: list[dict[str, Any]]) -> str:
    words = []
    for p in aligned:
        how = p["how"]
        if how == "exact":
            words.append(f"{p['query']} = {p['entry']}")
        elif how == "orthography":
            fired = ", ".join(rules_explaining(p["query"], p["entry"])) or "spelling"
            words.append(f"{p['query']} ~ {p['entry']} (Sesotho orthography: {fired})")
        else:
            words.append(f"{p['query']} ~ {p['entry']} ({how} {p['similarity']:.2f})")
    return "; ".join(words)


def score(query: ScreeningQuery, cand: Candidate) -> Score:
    """The combined score of one candidate and the features that made it."""
    best_name, best_aligned, best_pair = -1.0, [], ("", "")
    for qn in query.names:
        for en in cand.names:
            sim, aligned = name_similarity(qn, en)
            if sim > best_name:
                best_name, best_aligned, best_pair = sim, aligned, (qn.display, en.original)
    dob = compare_birth(query.birth, cand.birth)
    nat = compare_nationality(query.nationality, cand.nationalities)
    doc_hit = sorted(set(query.documents) & cand.documents)
    total = best_name + DOB_ADJUST[dob] + NATIONALITY_ADJUST[nat]
    explanation = [f"name {best_name:.2f}: {_describe_pairs(best_aligned)}"]
    if dob != "unknown" or query.birth is not None:
        assert dob == "unknown" or (query.birth is not None and cand.birth is not None)
        explanation.append(
            _DOB_WORDS[dob].format(q=query.birth, e=cand.birth)
            + (f" ({DOB_ADJUST[dob]:+.2f})" if DOB_ADJUST[dob] else "")
        )
    if nat != "unknown":
        listed = "/".join(sorted(cand.nationalities))
        explanation.append(
            f"nationality {query.nationality} {'matches' if nat == 'match' else 'differs from'} "
            f"{listed} ({NATIONALITY_ADJUST[nat]:+.2f})"
        )
    if doc_hit:
        total = max(total, DOCUMENT_SCORE)
        explanation.append(f"document {', '.join(doc_hit)} is on the entry")
    total = max(0.0, min(1.0, total))
    features: dict[str, Any] = {
        "name": round(best_name, 4),
        "name_pairs": best_aligned,
        "birth_date": dob,
        "nationality": nat,
        "document": bool(doc_hit),
    }
    return Score(round(total, 4), features, tuple(explanation), best_pair[1])


def make_query(
    names: Sequence[str],
    *,
    today: date,
    birth_date: str | date | None = None,
    nationality: str | None = None,
    documents: Sequence[str] = (),
    on: date | None = None,
) -> ScreeningQuery:
    """Validate what an officer typed; ScreeningInputError says which field is wrong."""
    if isinstance(names, str):
        names = [names]
    if not names:
        raise ScreeningInputError("at least one name is needed")
    if len(names) > 10:
        raise ScreeningInputError(f"{len(names)} names given; at most 10 per query")
    normalised = tuple(
        normalise_name(n, where="name" if len(names) == 1 else f"name {i + 1}")
        for i, n in enumerate(names)
    )
    nat = nationality.strip().upper() if nationality else None
    if nat is not None and not is_country(nat):
        raise ScreeningInputError(f"nationality {nationality!r} is not an ISO 3166 alpha-3 code")
    docs = []
    for d in documents:
        n = normalise_document(d)
        if not n or len(n) > 30:
            raise ScreeningInputError(f"document number {d[:40]!r} is empty or too long")
        docs.append(n)
    return ScreeningQuery(
        names=normalised,
        birth=parse_birth_date(birth_date, today),
        nationality=nat,
        documents=tuple(docs),
        on=on,
    )
