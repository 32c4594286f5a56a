"""SDG indicator 10.7.2 as a self-assessment (issue 22, item 5): the six policy domains'
questions, the rules an answer keeps, and the scores the indicator's method gives.

The questionnaire and every number of the method (the value of each answer, the category
thresholds) are data: ``tsela/reference/sdg_10_7_2.toml`` (sources in ``SOURCES.md``; the
question wording is to be checked against the official questionnaire). The method:

- each question (sub-category) is answered ``yes`` (1), ``no`` (0), or, where the question
  allows it, ``partially`` (0.5);
- a domain's score is the mean of its five sub-categories, in per cent; the summary is the
  mean of the six domains' scores;
- a score is classed by the highest category whose lower bound it reaches: 1 Requires
  further progress (from 0), 2 Partially meets (40), 3 Meets (80), 4 Fully meets (100).

A domain with a question unanswered has no score (a half-filled domain would otherwise read
as a policy the country lacks); the summary needs all six. Pure: no I/O beyond reading the
packaged reference file once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

ANSWERS = ("yes", "partially", "no")
MAX_EVIDENCE = 10  # links per answer
MAX_LINK = 500  # characters of one link


@dataclass(frozen=True)
class Question:
    code: str  # "1a" .. "6e"
    domain: int
    text: str  # English (the Sesotho questions are not written yet)
    partial: bool  # whether "partially" is an answer this question allows

    @property
    def allowed(self) -> tuple[str, ...]:
        return ANSWERS if self.partial else ("yes", "no")


@dataclass(frozen=True)
class Domain:
    number: int
    key: str
    words: Mapping[str, str]  # lang -> title
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Category:
    code: int  # the SG_CPA_MIGRS series' code, 1..4
    key: str
    lower: float  # per cent, included
    words: Mapping[str, str]


@dataclass(frozen=True)
class Method:
    first_year: int
    values: Mapping[str, float]
    categories: tuple[Category, ...]  # lowest bound first
    domains: tuple[Domain, ...]

    @property
    def questions(self) -> dict[str, Question]:
        return {q.code: q for d in self.domains for q in d.questions}

    def category(self, score: float) -> Category:
        """The highest category whose lower bound ``score`` (per cent) reaches."""
        chosen = self.categories[0]
        for c in self.categories:
            if score >= c.lower - 1e-9:
                chosen = c
        return chosen


@cache
def method() -> Method:
    """The questionnaire and the scoring as the reference file records them."""
    text = resources.files("tsela.reference").joinpath("sdg_10_7_2.toml").read_text("utf-8")
    data = tomllib.loads(text)
    domains = tuple(
        Domain(
            number=d["number"],
            key=d["key"],
            words={"en": d["en"], "st": d["st"]},
            questions=tuple(
                Question(q["code"], d["number"], q["en"], bool(q["partial"]))
                for q in d["questions"]
            ),
        )
        for d in data["domains"]
    )
    categories = tuple(
        sorted(
            (
                Category(c["code"], c["key"], float(c["from"]), {"en": c["en"], "st": c["st"]})
                for c in data["categories"]
            ),
            key=lambda c: c.lower,
        )
    )
    values = {k: float(v) for k, v in data["values"].items()}
    return Method(int(data["meta"]["first_year"]), values, categories, domains)


@dataclass(frozen=True)
class Answer:
    answer: str  # yes / partially / no
    evidence: tuple[str, ...] = ()  # links to the law, policy or report that shows it


@dataclass(frozen=True)
class Problem:
    """One refused part of an assessment: ``field`` (a question code, or "year"), a stable
    ``code`` and the values its words name."""

    field: str
    code: str
    values: Mapping[str, Any]

    def words(self) -> str:
        v = self.values
        match self.code:
            case "year_range":
                return f"the year must be from {v['first']} to {v['last']}, not {v['year']}"
            case "unknown_question":
                return f"there is no question {v['question']!r} (1a to 6e)"
            case "answer_not_allowed":
                return (
                    f"question {self.field} is answered {', '.join(map(str, v['allowed']))}, "
                    f"not {v['answer']!r}"
                )
            case "too_many_links":
                return f"question {self.field} has more than {v['max']} evidence links"
            case "bad_link":
                return (
                    f"question {self.field}: evidence must be an http(s) address of at most "
                    f"{MAX_LINK} characters, not {v['link']!r}"
                )
        return f"{self.field}: {self.code}"


def problems(
    year: int, answers: Mapping[str, Answer], this_year: int, how: Method | None = None
) -> list[Problem]:
    """Everything refused in an assessment of ``year`` (``this_year`` is the last allowed)."""
    how = how or method()
    found: list[Problem] = []
    if not how.first_year <= year <= this_year:
        found.append(
            Problem(
                "year", "year_range", {"year": year, "first": how.first_year, "last": this_year}
            )
        )
    questions = how.questions
    for code, given in answers.items():
        question = questions.get(code)
        if question is None:
            found.append(Problem(code, "unknown_question", {"question": code}))
            continue
        if given.answer not in question.allowed:
            found.append(
                Problem(
                    code,
                    "answer_not_allowed",
                    {"answer": given.answer, "allowed": question.allowed},
                )
            )
        if len(given.evidence) > MAX_EVIDENCE:
            found.append(Problem(code, "too_many_links", {"max": MAX_EVIDENCE}))
        found.extend(
            Problem(code, "bad_link", {"link": link[:80]})
            for link in given.evidence
            if not _is_link(link)
        )
    return found


def _is_link(text: str) -> bool:
    if len(text) > MAX_LINK or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class DomainScore:
    domain: Domain
    answered: int
    score: float | None  # per cent, None until every question is answered
    category: Category | None


@dataclass(frozen=True)
class Scores:
    domains: tuple[DomainScore, ...]
    score: float | None  # the summary: mean of the domains, None until all are scored
    category: Category | None

    @property
    def complete(self) -> bool:
        return self.score is not None


def score(answers: Mapping[str, Answer | str], how: Method | None = None) -> Scores:
    """The domains' and the summary's scores and categories of (valid) ``answers``."""
    how = how or method()
    given = {k: a if isinstance(a, str) else a.answer for k, a in answers.items()}
    out: list[DomainScore] = []
    for d in how.domains:
        values = [how.values[given[q.code]] for q in d.questions if q.code in given]
        if len(values) == len(d.questions):
            pct = round(100 * sum(values) / len(values), 1)
            out.append(DomainScore(d, len(values), pct, how.category(pct)))
        else:
            out.append(DomainScore(d, len(values), None, None))
    scored: Sequence[float] = [s.score for s in out if s.score is not None]
    if len(scored) == len(out):
        total = round(sum(scored) / len(scored), 1)
        return Scores(tuple(out), total, how.category(total))
    return Scores(tuple(out), None, None)
