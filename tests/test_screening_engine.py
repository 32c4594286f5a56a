"""Screening: scoring features and the index's candidates (pure, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from tsela.domain.screening import (
    THRESHOLD,
    BirthDate,
    ScreeningIndex,
    ScreeningInputError,
    WatchlistPerson,
    make_query,
    normalise_name,
    parse_birth_date,
)
from tsela.domain.screening.scoring import Candidate, compare_birth, name_similarity, score

TODAY = date(2026, 11, 25)


def q(name: str | list[str], **kw: object):  # type: ignore[no-untyped-def]
    return make_query([name] if isinstance(name, str) else name, today=TODAY, **kw)  # type: ignore[arg-type]


def cand(*names: str, birth: BirthDate | None = None, nat: str = "", docs: str = "") -> Candidate:
    return Candidate(
        names=tuple(normalise_name(n) for n in names),
        birth=birth,
        nationalities=frozenset([nat]) if nat else frozenset(),
        documents=frozenset([docs]) if docs else frozenset(),
    )


def sim(a: str, b: str) -> float:
    return name_similarity(normalise_name(a), normalise_name(b))[0]


# -- names ---------------------------------------------------------------------------------


def test_name_order_does_not_matter() -> None:
    assert sim("Mokoena Thabo", "Thabo Mokoena") == 1.0


def test_cross_border_spelling_scores_as_the_same_name() -> None:
    result = score(q("Tshepo Moshweshwe"), cand("Tšepo Moshoeshoe"))
    assert result.features["name"] == 1.0
    assert [p["how"] for p in result.features["name_pairs"]] == ["orthography", "orthography"]
    assert "Sesotho orthography" in result.explanation[0]


def test_a_typo_scores_below_an_exact_name_but_above_the_threshold() -> None:
    typo = sim("Thabo Mokeona", "Thabo Mokoena")
    assert THRESHOLD < typo < 1.0


def test_a_dropped_middle_name_costs_little() -> None:
    assert sim("Palesa Mofokeng", "Palesa Lineo Mofokeng") >= 0.9


def test_one_shared_surname_is_not_a_match() -> None:
    assert sim("Mokoena", "Thabo Mokoena") < THRESHOLD
    assert sim("Sipho Mokoena", "Thabo Mokoena") < THRESHOLD


def test_initials_match_the_names_they_stand_for() -> None:
    assert sim("T. Mokoena", "Thabo Mokoena") > THRESHOLD
    assert sim("K. Mokoena", "Thabo Mokoena") < THRESHOLD


def test_compound_surnames_match_without_their_particles() -> None:
    assert sim("Jan Merwe", "Jan van der Merwe") > THRESHOLD
    assert sim("Jan Vandermerwe", "Jan van der Merwe") == 1.0


# -- birth dates, nationality, documents ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "entry", "expected"),
    [
        (BirthDate(1985, 3, 14), BirthDate(1985, 3, 14), "exact"),
        (BirthDate(1985, 4, 3), BirthDate(1985, 3, 4), "day_month_swapped"),
        (BirthDate(1985, 3, 14), BirthDate(1985), "year_agrees"),
        (BirthDate(1985, 3, 14), BirthDate(1985, 3, 15), "one_digit_differs"),
        (BirthDate(1985, 3, 14), BirthDate(1985, 9, 2), "same_year_other_day"),
        (BirthDate(1985, 3, 14), BirthDate(1986), "year_near"),
        (BirthDate(1985, 3, 14), BirthDate(1962, 11, 30), "conflict"),
        (None, BirthDate(1962, 11, 30), "unknown"),
    ],
)
def test_birth_date_agreement(query: BirthDate | None, entry: BirthDate, expected: str) -> None:
    assert compare_birth(query, entry) == expected


def test_same_name_other_birth_date_is_not_a_hit() -> None:
    same = score(
        q("Thabo Mokoena", birth_date="1985-03-14"),
        cand("Thabo Mokoena", birth=BirthDate(1985, 3, 14)),
    )
    other = score(
        q("Thabo Mokoena", birth_date="1985-03-14"),
        cand("Thabo Mokoena", birth=BirthDate(1962, 11, 30)),
    )
    assert same.score >= THRESHOLD > other.score
    assert other.features["birth_date"] == "conflict"
    assert any("conflicts" in line for line in other.explanation)


def test_without_birth_dates_the_name_must_be_near_perfect() -> None:
    exact = score(q("Thabo Mokoena"), cand("Thabo Mokoena"))
    typo = score(q("Thabo Mokeona"), cand("Thabo Mokoena"))
    assert exact.features["birth_date"] == "unknown"
    assert exact.score >= THRESHOLD
    assert typo.score < exact.score


def test_nationality_moves_the_score_a_little() -> None:
    base = score(q("Thabo Mokeona"), cand("Thabo Mokoena")).score
    agree = score(q("Thabo Mokeona", nationality="LSO"), cand("Thabo Mokoena", nat="LSO")).score
    differ = score(q("Thabo Mokeona", nationality="ZAF"), cand("Thabo Mokoena", nat="LSO")).score
    assert differ < base < agree


def test_a_listed_document_number_is_a_hit_whatever_the_name() -> None:
    result = score(
        q("Someone Else", documents=["ra 123-456"]), cand("Thabo Mokoena", docs="RA123456")
    )
    assert result.score >= 0.99
    assert result.features["document"] is True


def test_score_stays_in_unit_interval() -> None:
    best = score(
        q("Thabo Mokoena", birth_date="1985-03-14", nationality="LSO"),
        cand("Thabo Mokoena", birth=BirthDate(1985, 3, 14), nat="LSO"),
    )
    worst = score(
        q("Zz Qq", birth_date="1985-03-14", nationality="ZAF"),
        cand("Thabo Mokoena", birth=BirthDate(1940, 1, 1), nat="LSO"),
    )
    assert best.score == 1.0
    assert worst.score == 0.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1985-13-01", "month 13"),
        ("1985-02-30", "day is out of range"),
        ("1066", "outside 1880-2026"),
        ("2031-01-01", "outside 1880-2026"),
        ("2026-12-01", "in the future"),
        ("14/03/1985", "not YYYY"),
        ("x" * 5000, "not YYYY"),
    ],
)
def test_absurd_birth_dates_are_refused(value: str, message: str) -> None:
    with pytest.raises(ScreeningInputError, match=message):
        parse_birth_date(value, TODAY)


def test_bad_query_fields_are_refused() -> None:
    with pytest.raises(ScreeningInputError, match="nationality 'XX1'"):
        q("Thabo Mokoena", nationality="XX1")
    with pytest.raises(ScreeningInputError, match="at least one name"):
        make_query([], today=TODAY)


# -- the index -----------------------------------------------------------------------------


PEOPLE = [
    WatchlistPerson("lineo", ("Lineo Mokoena",), BirthDate(1985, 3, 14), frozenset({"LSO"})),
    WatchlistPerson("tsepo", ("Tšepo Moshoeshoe", "Ts'epo Moshoeshoe"), BirthDate(1990)),
    WatchlistPerson("thabo-old", ("Thabo Mokoena",), BirthDate(1962, 11, 30)),
    WatchlistPerson("thabo-young", ("Thabo Mokoena",), BirthDate(1999, 1, 2)),
    WatchlistPerson("jan", ("Jan van der Merwe",), None),
    WatchlistPerson(
        "sipho", ("Sipho Dlamini",), BirthDate(1970, 5, 6), documents=frozenset({"A1234567"})
    ),
    WatchlistPerson(
        "expired",
        ("Palesa Mofokeng",),
        None,
        valid_from=date(2020, 1, 1),
        valid_to=date(2024, 1, 1),
    ),
    WatchlistPerson("empty", ("--",), None),
]


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return ScreeningIndex.build(PEOPLE)


def keys(index: ScreeningIndex, query) -> list[str]:  # type: ignore[no-untyped-def]
    return [index.key_at(p) for p in index.candidates(query).tolist()]


def test_entries_without_a_usable_name_are_skipped_and_counted(index: ScreeningIndex) -> None:
    stats = index.stats()
    assert len(index) == 7
    assert stats.skipped == 1
    assert stats.skipped_examples[0][0] == "empty"


def test_candidates_are_the_entries_sharing_two_similar_words(index: ScreeningIndex) -> None:
    assert sorted(keys(index, q("Thabo Mokoena"))) == ["thabo-old", "thabo-young"]
    assert keys(index, q("Dineo Mokoena")) == ["lineo"]
    assert keys(index, q("Tshepo Moshweshwe")) == ["tsepo"]
    assert keys(index, q("Thabo Mokeona")) != []  # typo still finds them
    assert keys(index, q("Grace Smith")) == []


def test_a_remembered_word_answers_as_when_first_asked() -> None:
    """Near words are remembered per index: asking again (or after changing the list given
    back) gives the first answer, and a new index (new lists) does not inherit it."""
    index = ScreeningIndex.build(PEOPLE)
    query = q("Thabo Mokeona", birth_date="1962-11-30")
    first_keys, first_hits = keys(index, query), index.screen(query)
    words = index.similar_tokens("mokeona", "mokeona", "mokeona")
    assert words
    words.clear()
    assert index.similar_tokens("mokeona", "mokeona", "mokeona")
    assert keys(index, query) == first_keys
    assert [(h.key, h.score) for h in index.screen(query)] == [(h.key, h.score) for h in first_hits]
    other = ScreeningIndex.build([p for p in PEOPLE if not p.key.startswith("thabo")])
    assert keys(other, query) == []


def test_birth_date_picks_the_right_namesake(index: ScreeningIndex) -> None:
    hits = index.screen(q("Thabo Mokoena", birth_date="1962-11-30"))
    assert [h.key for h in hits] == ["thabo-old"]


def test_document_number_finds_an_entry_by_itself(index: ScreeningIndex) -> None:
    hits = index.screen(q("Unrelated Person", documents=["A1234567"]))
    assert [h.key for h in hits] == ["sipho"]


def test_entries_outside_their_validity_are_ignored(index: ScreeningIndex) -> None:
    assert index.screen(q("Palesa Mofokeng", on=date(2022, 6, 1)))[0].key == "expired"
    assert index.screen(q("Palesa Mofokeng", on=TODAY)) == []


def test_hits_carry_score_features_and_explanation(index: ScreeningIndex) -> None:
    (hit,) = index.screen(q("Dineo Mokoena", birth_date="1985-03-14", nationality="LSO"))
    assert hit.key == "lineo"
    assert hit.score == 1.0
    assert hit.features["birth_date"] == "exact"
    assert hit.features["nationality"] == "match"
    assert hit.matched_name == "Lineo Mokoena"
    assert hit.explanation[0].startswith("name 1.00: Dineo ~ Lineo (Sesotho orthography")


def test_an_empty_index_finds_nothing() -> None:
    assert ScreeningIndex.build([]).screen(q("Thabo Mokoena")) == []


def test_a_common_name_with_many_namesakes_keeps_the_right_one() -> None:
    people = [
        WatchlistPerson(
            f"t{i}", ("Thabo Mokoena",), BirthDate(1940 + i % 60, 1 + i % 12, 1 + i % 28)
        )
        for i in range(500)
    ]
    people.append(WatchlistPerson("target", ("Thabo Mokoena",), BirthDate(2001, 7, 29)))
    index = ScreeningIndex.build(people)
    hits = index.screen(q("Thabo Mokoena", birth_date="2001-07-29"))
    assert hits[0].key == "target"


def test_concurrent_queries_get_the_same_answers_as_one_at_a_time(index: ScreeningIndex) -> None:
    from concurrent.futures import ThreadPoolExecutor

    names = ["Dineo Mokoena", "Thabo Mokoena", "Tshepo Moshweshwe", "Jan Merwe", "Grace Smith"]
    queries = [q(names[i % len(names)], birth_date="1962-11-30") for i in range(200)]
    alone = [[h.key for h in index.screen(x)] for x in queries]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda x: [h.key for h in index.screen(x)], queries))
    assert together == alone
    assert any(alone)
