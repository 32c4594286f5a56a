"""The comparison model: which fields are compared, at which levels, and how a trained
model's parameters score a pair (pure, no I/O).

One table (``COMPARISONS``) says it once. ``tsela.services.identity.engine`` turns it into
Splink's settings (SQL run by DuckDB or Spark over millions of records); ``score_pair`` here
evaluates the same levels in Python for one new record at the border, with the m and u
probabilities Splink estimated. The two agree level for level; the one difference is that
the border scorer leaves out term-frequency adjustments (a common surname counts as much as
a rare one there, which errs towards showing a candidate, never towards hiding one).

Each level has a stable ``code`` ("exact", "close", "swapped"...): the review page and the
check say it in the reader's language (``identity.level.*`` words at the edge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from rapidfuzz.process import cdist

from tsela.domain.identity.features import settings


@dataclass(frozen=True)
class Level:
    """One level of agreement of one comparison, strongest first.

    ``kind``: "null" (either side missing), "exact", "jw" (Jaro-Winkler >= ``arg``), "dl"
    (Damerau-Levenshtein <= ``arg``), "reversed" (surname and first given name swapped),
    "swapped" (birth day and month swapped, same year), "year" (same birth year), "else".
    """

    code: str
    kind: str
    arg: float = 0.0
    tf: bool = False  # term-frequency adjusted in batch resolution


@dataclass(frozen=True)
class Comparison:
    field: str  # the stable name of the comparison (and of its column in Splink's output)
    column: str
    levels: tuple[Level, ...]


NAME_LEVELS = (
    Level("missing", "null"),
    Level("exact", "exact", tf=True),
    Level("close", "jw", 0.95),
    Level("similar", "jw", 0.88),
)

COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "surname",
        "surname_fold",
        (*NAME_LEVELS, Level("reversed", "reversed"), Level("differs", "else")),
    ),
    Comparison("given_name", "given_fold", (*NAME_LEVELS, Level("differs", "else"))),
    Comparison(
        "birth_date",
        "birth_date",
        (
            Level("missing", "null"),
            Level("exact", "exact"),
            Level("swapped", "swapped"),
            Level("typo", "dl", 1),
            Level("year", "year"),
            Level("differs", "else"),
        ),
    ),
    Comparison(
        "sex", "sex", (Level("missing", "null"), Level("exact", "exact"), Level("differs", "else"))
    ),
    Comparison(
        "nationality",
        "nationality",
        (Level("missing", "null"), Level("exact", "exact"), Level("differs", "else")),
    ),
    Comparison(
        "document",
        "doc_fold",
        (
            Level("missing", "null"),
            Level("exact", "exact"),
            Level("typo", "dl", 1),
            Level("differs", "else"),
        ),
    ),
)


def thresholds() -> tuple[float, float]:
    """(review, auto_link) match probabilities from reference/identity.toml."""
    t = settings()["thresholds"]
    return float(t["review"]), float(t["auto_link"])


def format_version() -> int:
    return int(settings()["format"])


def _level_applies(
    level: Level, column: str, left: Mapping[str, Any], right: Mapping[str, Any]
) -> bool:
    a, b = left.get(column), right.get(column)
    if level.kind == "null":
        return a is None or b is None
    if level.kind == "else":
        return True
    if level.kind == "reversed":
        return (
            left.get("surname_fold") is not None
            and left.get("surname_fold") == right.get("given_fold")
            and left.get("given_fold") == right.get("surname_fold")
        )
    if a is None or b is None:
        return False
    if level.kind == "exact":
        return a == b
    if level.kind == "jw":
        return JaroWinkler.similarity(str(a), str(b)) >= level.arg
    if level.kind == "dl":
        return DamerauLevenshtein.distance(str(a), str(b)) <= level.arg
    if level.kind == "swapped":
        sa, sb = str(a), str(b)
        return sa[:4] == sb[:4] and sa[5:7] == sb[8:10] and sa[8:10] == sb[5:7]
    if level.kind == "year":
        return str(a)[:4] == str(b)[:4]
    raise ValueError(f"unknown level kind {level.kind!r}")


def gamma(comparison: Comparison, left: Mapping[str, Any], right: Mapping[str, Any]) -> int:
    """The index in ``comparison.levels`` of the first level that applies."""
    for i, level in enumerate(comparison.levels):
        if _level_applies(level, comparison.column, left, right):
            return i
    raise AssertionError("the last level of a comparison is always 'else'")


@dataclass(frozen=True)
class Parameters:
    """A trained model's numbers: the prior and each level's m and u probabilities."""

    version: str
    prior: float  # probability that two random records are the same person
    m: tuple[tuple[float | None, ...], ...]  # [comparison][level]; None for "missing"
    u: tuple[tuple[float | None, ...], ...]

    @classmethod
    def from_splink(cls, model: Mapping[str, Any], version: str) -> Parameters:
        """Read the numbers out of a Splink model (``linker.misc.save_model_to_json``)."""
        by_name = {c["output_column_name"]: c for c in model["comparisons"]}
        m: list[tuple[float | None, ...]] = []
        u: list[tuple[float | None, ...]] = []
        for comp in COMPARISONS:
            levels = by_name[comp.field]["comparison_levels"]
            if len(levels) != len(comp.levels):
                raise ValueError(
                    f"{comp.field}: the model has {len(levels)} levels, Tsela {len(comp.levels)}"
                )
            m.append(
                tuple(None if lv.get("is_null_level") else lv.get("m_probability") for lv in levels)
            )
            u.append(
                tuple(None if lv.get("is_null_level") else lv.get("u_probability") for lv in levels)
            )
        return cls(
            version, float(model["probability_two_random_records_match"]), tuple(m), tuple(u)
        )


@dataclass(frozen=True)
class Contribution:
    """One comparison's part in a pair's score: its level and the weight (log2 Bayes factor)."""

    field: str
    level: str
    weight: float


@dataclass(frozen=True)
class PairScore:
    weight: float  # match weight: log2 of the posterior odds
    probability: float
    contributions: tuple[Contribution, ...]


def probability_of(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (-weight))


def _bayes_weight(m: float | None, u: float | None) -> float:
    if m is None or u is None:
        return 0.0
    # A level never seen in training has m or u of 0; clamp so the score stays finite.
    return math.log2(max(m, 1e-9) / max(u, 1e-9))


def score_pair(params: Parameters, left: Mapping[str, Any], right: Mapping[str, Any]) -> PairScore:
    """Score two feature rows as Splink would (without term-frequency adjustments)."""
    prior = math.log2(params.prior / (1.0 - params.prior))
    total = prior
    parts: list[Contribution] = []
    for ci, comp in enumerate(COMPARISONS):
        gi = gamma(comp, left, right)
        w = _bayes_weight(params.m[ci][gi], params.u[ci][gi])
        total += w
        parts.append(Contribution(comp.field, comp.levels[gi].code, round(w, 3)))
    return PairScore(round(total, 3), probability_of(total), tuple(parts))


def _applies_many(
    level: Level,
    column: str,
    left: Mapping[str, Any],
    rights: Sequence[Mapping[str, Any]],
    values: list[Any],
    known: np.ndarray,
    cache: dict[str, np.ndarray],
) -> np.ndarray:
    """``_level_applies`` for ``left`` against every row of ``rights`` at once (``values``:
    their ``column``; ``known``: where it is not None; ``cache``: string measures computed
    once per comparison, for two levels of the same measure)."""
    n = len(values)
    a = left.get(column)
    if level.kind == "null":
        return np.ones(n, dtype=bool) if a is None else ~known
    if level.kind == "else":
        return np.ones(n, dtype=bool)
    if level.kind == "reversed":
        sur, giv = left.get("surname_fold"), left.get("given_fold")
        if sur is None:
            return np.zeros(n, dtype=bool)
        return np.fromiter(
            (r.get("given_fold") == sur and r.get("surname_fold") == giv for r in rights),
            dtype=bool,
            count=n,
        )
    if a is None:
        return np.zeros(n, dtype=bool)
    if level.kind == "exact":
        return np.fromiter((b == a for b in values), dtype=bool, count=n) & known
    if level.kind in ("jw", "dl"):
        measure = cache.get(level.kind)
        if measure is None:
            scorer = JaroWinkler.similarity if level.kind == "jw" else DamerauLevenshtein.distance
            choices = ["" if b is None else str(b) for b in values]
            measure = cdist([str(a)], choices, scorer=scorer, workers=1)[0]
            cache[level.kind] = measure
        hit = measure >= level.arg if level.kind == "jw" else measure <= level.arg
        return np.asarray(hit, dtype=bool) & known
    if level.kind == "swapped":
        sa = str(a)
        return np.fromiter(
            (
                b is not None
                and sa[:4] == str(b)[:4]
                and sa[5:7] == str(b)[8:10]
                and sa[8:10] == str(b)[5:7]
                for b in values
            ),
            dtype=bool,
            count=n,
        )
    if level.kind == "year":
        year = str(a)[:4]
        return np.fromiter(
            (b is not None and str(b)[:4] == year for b in values), dtype=bool, count=n
        )
    raise ValueError(f"unknown level kind {level.kind!r}")


def score_many(
    params: Parameters, left: Mapping[str, Any], rights: Sequence[Mapping[str, Any]]
) -> list[float]:
    """The match weight (unrounded) of ``left`` against each of ``rights``: ``score_pair``'s
    weights, level for level and bit for bit (the same per-level weights added in the same
    order), each comparison evaluated over all of ``rights`` at once (rapidfuzz's ``cdist``
    for the string measures). ``probability_of`` turns a weight into ``score_pair``'s
    probability. The border scores a record's few hundred candidates so (issue 17)."""
    n = len(rights)
    if n == 0:
        return []
    total = np.full(n, math.log2(params.prior / (1.0 - params.prior)))
    for ci, comp in enumerate(COMPARISONS):
        weights = np.array(
            [_bayes_weight(params.m[ci][gi], params.u[ci][gi]) for gi in range(len(comp.levels))]
        )
        values = [r.get(comp.column) for r in rights]
        known = np.fromiter((b is not None for b in values), dtype=bool, count=n)
        levels = np.full(n, -1)
        cache: dict[str, np.ndarray] = {}
        for gi, level in enumerate(comp.levels):
            free = levels < 0
            if not free.any():
                break
            hit = _applies_many(level, comp.column, left, rights, values, known, cache)
            levels[free & hit] = gi
        total = total + weights[levels]
    return [float(w) for w in total]


def contributions_from_row(row: Mapping[str, Any]) -> tuple[Contribution, ...]:
    """The per-field weights of one row of Splink's predictions (with matching and
    intermediate columns kept: ``gamma_*``, ``mw_*``, ``mw_tf_adj_*``)."""
    parts: list[Contribution] = []
    for comp in COMPARISONS:
        # Splink numbers levels from the weakest: "else" is 0, the null level -1.
        g = int(row[f"gamma_{comp.field}"])
        code = comp.levels[0 if g < 0 else len(comp.levels) - 1 - g].code
        w = float(row.get(f"mw_{comp.field}") or 0.0)
        w += float(row.get(f"mw_tf_adj_{comp.field}") or 0.0)
        parts.append(Contribution(comp.field, code, round(w, 3)))
    return tuple(parts)


def level_codes(comparison: Comparison) -> Sequence[str]:
    return [lv.code for lv in comparison.levels]
