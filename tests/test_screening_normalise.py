"""Screening: name normalisation and the Sesotho orthography table."""

from __future__ import annotations

import csv

import pytest

from tsela.domain.screening import ScreeningInputError, fold_token, normalise_name
from tsela.domain.screening.orthography import rules, rules_explaining
from tsela.reference import reference_file


def folded(name: str) -> list[str]:
    return [t.folded for t in normalise_name(name).tokens]


def plain(name: str) -> list[str]:
    return [t.plain for t in normalise_name(name).tokens]


# The pairs the issue names, spelt Lesotho's way and South Africa's way.
@pytest.mark.parametrize(
    ("lesotho", "south_africa"),
    [
        ("Lineo", "Dineo"),
        ("Moshoeshoe", "Moshweshwe"),
        ("Tšepo", "Tshepo"),
        ("Chaba", "Tjhaba"),
        ("lumela", "dumela"),
        ("ts'oana", "tshwana"),
        ("Khotso", "Kgotso"),
        ("Refiloe", "Refilwe"),
        ("'Mathabo", "Mmathabo"),
        ("moea", "moya"),
    ],
)
def test_both_orthographies_fold_to_one_key(lesotho: str, south_africa: str) -> None:
    assert fold_token(lesotho) == fold_token(south_africa)


@pytest.mark.parametrize("same", ["Thabo", "Mpho", "Palesa", "Mokoena"])
def test_names_spelt_alike_in_both_countries_are_left_alone(same: str) -> None:
    assert fold_token(same) == same.lower()


@pytest.mark.parametrize(("a", "b"), [("Thabo", "Thato"), ("Lineo", "Lerato"), ("Tau", "Dau")])
def test_different_names_keep_different_keys(a: str, b: str) -> None:
    assert fold_token(a) != fold_token(b)


def test_every_example_in_the_orthography_table_folds_together() -> None:
    table = rules()
    assert len(table) >= 10
    for rule in table:
        assert rule.lesotho, rule.name
        for ls, za in zip(rule.lesotho, rule.south_africa, strict=True):
            assert fold_token(ls) == fold_token(za), (rule.name, ls, za)


def test_hand_written_name_pairs_fold_together() -> None:
    lines = [
        line
        for line in reference_file("names/sesotho_orthography_pairs.csv").splitlines()
        if line and not line.startswith("#")
    ]
    pairs = list(csv.DictReader(lines))
    assert len(pairs) >= 40
    for row in pairs:
        assert fold_token(row["lesotho"]) == fold_token(row["south_africa"]), row


def test_explanations_name_the_rule_that_joined_two_spellings() -> None:
    assert "lateral-before-close-vowels" in rules_explaining("Lineo", "Dineo")
    assert "palatal-affricate" in rules_explaining("Chaba", "Tjhaba")
    assert rules_explaining("Thabo", "Thabo") == []


def test_case_accents_and_punctuation_are_ignored() -> None:
    assert plain("  MÜLLER-Ndlovu, josé ") == ["muller", "ndlovu", "jose"]


def test_titles_are_dropped_in_three_languages() -> None:
    assert plain("Dr. Thabo Mokoena") == ["thabo", "mokoena"]
    assert plain("Ntate Thabo Mokoena") == ["thabo", "mokoena"]
    assert plain("'M'e Palesa Mofokeng") == ["palesa", "mofokeng"]
    assert plain("Mnr. Jan Botha") == ["jan", "botha"]


def test_given_names_that_look_like_titles_are_kept() -> None:
    assert plain("Justice Mokoena") == ["justice", "mokoena"]


def test_surname_particles_join_and_keep_a_core() -> None:
    tokens = normalise_name("Jan van der Merwe").tokens
    assert [t.plain for t in tokens] == ["jan", "vandermerwe"]
    assert tokens[1].core == fold_token("Merwe")


def test_initials_are_marked() -> None:
    tokens = normalise_name("T.J. Mokoena").tokens
    assert [t.initial for t in tokens] == [True, True, False]


def test_other_scripts_are_transliterated() -> None:
    assert plain("Шабалала") == ["shabalala"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "has no letters"),
        ("   ", "has no letters"),
        ("12345 --", "has no letters"),
        ("Mr.", "only titles"),
        ("a " * 13, "at most 12"),
    ],
)
def test_unusable_names_are_refused_with_the_reason(name: str, message: str) -> None:
    with pytest.raises(ScreeningInputError, match=message):
        normalise_name(name)


def test_a_50_megabyte_name_is_refused_by_its_length() -> None:
    huge = "A" * (50 * 1024 * 1024)
    with pytest.raises(ScreeningInputError, match=r"52,428,800 characters long; the limit is 200"):
        normalise_name(huge)
