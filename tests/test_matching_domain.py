"""Exit/entry matching, pure: windows, one-to-one nearest pairing, mismatches, posts without
counterpart, the report. All times are fixed; nothing depends on today's date."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tsela.domain.matching import (
    WINDOW,
    Differs,
    Matching,
    Outcome,
    PortDay,
    crossings_table,
    match,
)

T0 = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # 14:00 at the border
LATER = T0 + timedelta(days=1)  # every window has passed


def _x(id: str, minutes: float, **kw: Any) -> dict[str, Any]:
    """An exit from Lesotho, recorded by LS (override country/direction for other kinds)."""
    row: dict[str, Any] = {
        "id": id,
        "node": "LS",
        "port": "MSU",
        "direction": "exit",
        "country": "LSO",
        "crossed_at": T0 + timedelta(minutes=minutes),
        "document_number": "RA1234567",
        "document_country": "LSO",
        "surname": "MOKOENA",
        "given_names": "LINEO",
        "birth_date": date(1990, 3, 14),
        "person": None,
    }
    row.update(kw)
    return row


def _n(id: str, minutes: float, **kw: Any) -> dict[str, Any]:
    """The entry into South Africa, recorded by ZA."""
    return _x(id, minutes, **{"node": "ZA", "direction": "entry", "country": "ZAF", **kw})


def _run(rows: list[dict[str, Any]], as_of: datetime = LATER, **kw: Any) -> Matching:
    return match(crossings_table(rows), as_of=as_of, **kw)


def _by_id(m: Matching) -> dict[str, Outcome]:
    ids = m.table["id"].to_pylist()
    return {ids[i]: m.outcome_of(i) for i in range(len(ids))}


def _pairs(m: Matching) -> set[tuple[str, str]]:
    ids = m.table["id"].to_pylist()
    return {(ids[a], ids[b]) for a, b in m.pairs()}


def test_an_exit_and_the_entry_minutes_later_at_the_same_post_are_one_crossing() -> None:
    m = _run([_x("ls-exit", 0), _n("za-entry", 11)])
    assert _pairs(m) == {("ls-exit", "za-entry")}
    assert set(_by_id(m).values()) == {Outcome.MATCHED}


def test_the_other_way_round_too() -> None:
    rows = [
        _x("za-exit", 0, node="ZA", country="ZAF"),
        _n("ls-entry", 5, node="LS", country="LSO"),
    ]
    assert _pairs(_run(rows)) == {("za-exit", "ls-entry")}


def test_the_window_is_inclusive_and_configurable() -> None:
    window = WINDOW // timedelta(minutes=1)
    assert _pairs(_run([_x("x", 0), _n("n", window)])) == {("x", "n")}
    late = _run([_x("x", 0), _n("n", window + 1)])
    assert _by_id(late) == {"x": Outcome.UNMATCHED_EXIT, "n": Outcome.UNMATCHED_ENTRY}
    wider = _run([_x("x", 0), _n("n", window + 1)], window=timedelta(hours=3))
    assert _pairs(wider) == {("x", "n")}


def test_without_counterpart_a_record_is_pending_until_its_window_has_passed() -> None:
    rows = [_x("x", 0), _n("n-alone", 30, document_number="RB0000001", surname="NKU")]
    at = T0 + timedelta(minutes=100)
    assert set(_by_id(_run(rows, as_of=at)).values()) == {Outcome.PENDING}
    after = T0 + timedelta(minutes=30) + WINDOW
    assert _by_id(_run(rows, as_of=after)) == {
        "x": Outcome.UNMATCHED_EXIT,
        "n-alone": Outcome.UNMATCHED_ENTRY,
    }


def test_each_record_is_used_once_and_the_nearest_in_time_wins() -> None:
    m = _run([_x("x", 0), _n("n-far", 40), _n("n-near", 10)])
    assert _pairs(m) == {("x", "n-near")}
    assert _by_id(m)["n-far"] is Outcome.UNMATCHED_ENTRY
    m = _run([_x("x-early", -10), _x("x-late", 0), _n("n", 10)])
    assert _pairs(m) == {("x-late", "n")}
    assert _by_id(m)["x-early"] is Outcome.UNMATCHED_EXIT


def test_back_and_forth_on_one_document_pairs_each_journey() -> None:
    rows = [
        _x("out1", 0),
        _n("in1", 8),
        _x("back-out", 60, node="ZA", country="ZAF"),
        _n("back-in", 70, node="LS", country="LSO"),
        _x("out2", 90),
        _n("in2", 95),
    ]
    assert _pairs(_run(rows)) == {("out1", "in1"), ("back-out", "back-in"), ("out2", "in2")}


def test_an_entry_stamped_a_little_before_its_exit_still_pairs() -> None:
    assert _pairs(_run([_x("x", 0), _n("n", -5)])) == {("x", "n")}
    assert _pairs(_run([_x("x", 0), _n("n", -20)])) == set()  # beyond the 15-minute tolerance


def test_a_plain_pair_beats_a_nearer_pair_that_needs_the_clock_tolerance() -> None:
    # Two exits in a row on one document (one entry went unrecorded in between would be
    # the other reading); pairing the entry at 10 with the exit at 15 would leave two alone.
    rows = [_x("x1", 0), _n("n1", 10), _x("x2", 15), _n("n2", 22)]
    assert _pairs(_run(rows)) == {("x1", "n1"), ("x2", "n2")}


def test_different_posts_documents_or_countries_do_not_pair() -> None:
    rows = [
        _x("x", 0),
        _n("other-post", 10, port="FKB"),
        _n("other-document", 10, document_number="RB7654321", surname="NKU"),
        _n("same-country", 10, node="LS", country="LSO"),
    ]
    assert _pairs(_run(rows)) == set()


def test_a_post_paired_under_another_code_pairs() -> None:
    posts = {"MSU-LS": "MASERU", "MSU-ZA": "MASERU"}
    m = _run([_x("x", 0, port="MSU-LS"), _n("n", 10, port="MSU-ZA")], posts=posts)
    assert _pairs(m) == {("x", "n")}


def test_same_document_other_name_or_birth_date_is_a_mismatch() -> None:
    m = _run(
        [
            _x("x1", 0),
            _n("n1", 10, surname="MOKOENE"),
            _x("x2", 0, document_number="RC1"),
            _n("n2", 10, document_number="RC1", birth_date=date(1991, 3, 14)),
        ]
    )
    assert _pairs(m) == {("x1", "n1"), ("x2", "n2")}
    assert set(_by_id(m).values()) == {Outcome.MISMATCH}
    ids = m.table["id"].to_pylist()
    assert Differs(int(m.differs[ids.index("n1")])) == Differs.NAME
    assert Differs(int(m.differs[ids.index("x2")])) == Differs.BIRTH_DATE


def test_names_compare_as_an_officer_reads_them_and_withheld_fields_are_not_compared() -> None:
    m = _run(
        [
            _x("x1", 0, given_names="Lineo  Maria"),
            _n("n1", 10, given_names=" LINEO MARIA"),
            _x("x2", 0, document_number="RC1"),
            _n("n2", 10, document_number="RC1", surname=None, birth_date=None),
        ]
    )
    assert set(_by_id(m).values()) == {Outcome.MATCHED}


def test_same_person_on_another_document_is_a_mismatch() -> None:
    m = _run([_x("x", 0), _n("n", 12, document_number="LS0000042", document_country="LSO")])
    assert _pairs(m) == {("x", "n")}
    assert _by_id(m) == {"x": Outcome.MISMATCH, "n": Outcome.MISMATCH}
    assert Differs(int(m.differs[0])) == Differs.DOCUMENT
    # A resolved person's key links records even under different names.
    m = _run(
        [
            _x("x", 0, person="p-1"),
            _n("n", 12, document_number="Z9", surname="MOKOENA-TAU", person="p-1"),
        ]
    )
    assert _pairs(m) == {("x", "n")}


def test_a_post_with_no_counterpart_is_reported_as_such() -> None:
    m = _run([_x("x", 0, port="MSX"), _n("n", 10)])
    assert _by_id(m) == {"x": Outcome.NO_COUNTERPART_PORT, "n": Outcome.UNMATCHED_ENTRY}


def test_the_answer_does_not_depend_on_the_order_of_the_records() -> None:
    rows = [
        _x("a", 0),
        _n("b", 10),
        _n("c", 50),
        _x("d", 60, document_number="Q1"),
        _n("e", 61, document_number="Q1", surname="OTHER"),
        _x("f", 100, port="MSX"),
        _x("g", 5),
    ]
    expected = (_by_id(_run(rows)), _pairs(_run(rows)))
    rng = random.Random(4)
    for _ in range(5):
        rng.shuffle(rows)
        assert (_by_id(_run(rows)), _pairs(_run(rows))) == expected


def test_the_report_counts_per_post_and_border_day_and_a_pair_once_at_its_exit() -> None:
    late_evening = T0.replace(hour=21, minute=50)  # 23:50 at the border
    rows = [
        _x("x", 0),
        _n("n", 10),
        _x("mis", 0, document_number="Q1"),
        _n("mis-n", 5, document_number="Q1", surname="OTHER"),
        _x("alone", 30, port="FKB"),
        _n("no-exit", 30, port="FKB", document_number="Q2", surname="NKU"),
        _x("air", 0, port="MSX"),
        _x("night", 0, crossed_at=late_evening),
        _n("night-n", 0, crossed_at=late_evening + timedelta(minutes=20)),  # next border day
        _x("recent", 0, crossed_at=LATER - timedelta(minutes=5)),
    ]
    report = _run(rows).report()
    d0, d1 = date(2026, 12, 20), date(2026, 12, 21)
    assert report == [
        PortDay("FKB", d0, 0, 0, 1, 1, 0, 0),
        PortDay("MSU", d0, 2, 1, 0, 0, 0, 0),
        PortDay("MSX", d0, 0, 0, 0, 0, 0, 1),
        PortDay("MSU", d1, 0, 0, 0, 0, 1, 0),
    ]


def test_bad_input_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="as_of must have a time zone"):
        _run([_x("x", 0)], as_of=datetime(2026, 12, 21))
    with pytest.raises(ValueError, match="crossing 0: country 'BWA' is not LSO or ZAF"):
        crossings_table([_x("x", 0, country="BWA")])
    with pytest.raises(ValueError, match="crossing 0: crossed_at must be a datetime with"):
        crossings_table([_x("x", 0, crossed_at=datetime(2026, 12, 20, 12))])
    with pytest.raises(ValueError, match="window must be positive"):
        _run([_x("x", 0)], window=timedelta(0))


def test_nothing_to_match_is_an_empty_answer() -> None:
    m = _run([])
    assert m.pairs() == [] and m.report() == []
