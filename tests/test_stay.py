"""The stay-rule engine, checked against official worked examples and a day-by-day oracle.

Sources of the worked examples:
- [SEM-n]  Swiss State Secretariat for Migration, "Short-stay calculator", Example n
  (https://www.sem.admin.ch/sem/en/home/themen/einreise/aufenthaltsrechner/bsp-n.html, last
  modified 01.12.2014). The examples run the European Commission's short-stay calculator.
- [SEM-2025] SEM, "Regeln zur Berechnung der Aufenthaltsdauer" (rules for calculating the
  duration of stay, sem.admin.ch, .../voraussetzungen-nach-staat/mit-visum/aufenthaltsrechner
  .html, last modified 12.10.2025), examples 1 and 2.
- [EC-manual] European Commission, "User manual for the short-stay 'Schengen' calculator",
  section 1: a moving 180-day period looks back from each day of stay; "an absence for an
  uninterrupted period of 90 days allows for a new stay for up to 90 days".
- [SBC-6] Regulation (EU) 2016/399 (Schengen Borders Code), art. 6(1)-(2): 90 days in any
  180-day period, the 180 days preceding each day of stay; the days of entry and exit count;
  periods under a residence permit or long-stay visa are not counted.
Every other expected figure below is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

import stay_naive as naive
from tsela.domain.stay import (
    PermitCover,
    RuleFileError,
    RuleNotInForceError,
    Stay,
    StayInputError,
    StayRule,
    UnknownRuleError,
    evaluate,
    get_rule,
    load_rules,
    parse_rule,
    select_rule,
)

D = date.fromisoformat
SCHENGEN = get_rule("SCHENGEN-90-180")
LSO = get_rule("LSO-ZAF-VISITOR")


def stays(*texts: str) -> list[Stay]:
    return [Stay.parse(t) for t in texts]


# --------------------------------------------------------------------------- Schengen, official


def test_sem_1_planning_a_return_after_a_47_day_stay() -> None:
    # [SEM-1] Entered 15.08.2014, checked on leaving 30.09.2014: 47 days used. Returning on
    # 01.01.2015 the traveller "may remain for 90 more days".
    left = evaluate(SCHENGEN, stays("2014-08-15:2014-09-30"), D("2014-09-30"))
    assert left.stays[0].days == 47
    back = evaluate(SCHENGEN, stays("2014-08-15:2014-09-30"), D("2015-01-01"))
    assert back.days_remaining == 90
    assert back.latest_exit == D("2015-03-31")  # 1 Jan + 89 days
    assert back.overstay_days == 0


@pytest.mark.parametrize("last", ["2014-11-01:2014-11-30", "2014-11-01:"])
def test_sem_2_legal_stay_could_have_continued_until_13_december(last: str) -> None:
    # [SEM-2] Stays 15.08-30.09.2014 and 01.11-30.11.2014, checked on 30.11.2014: no overstay;
    # she "would be able to remain ... without interruption until 13 December 2014". The same
    # answer whether the check is on departure (exit stamped) or during the stay (open).
    a = evaluate(SCHENGEN, stays("2014-08-15:2014-09-30", last), D("2014-11-30"))
    assert a.overstay_days == 0
    assert a.latest_exit == D("2014-12-13")
    assert a.days_used == 47 + 30


def test_sem_4_june_stay_outside_the_reference_period() -> None:
    # [SEM-4] Stays 01.06-13.07.2013, 15.08-30.09.2013, 01.01-30.01.2014, checked on leaving
    # 30.01.2014: legal; "could have stayed until 31.03.2014". The June/July stay falls outside
    # the 180-day period, so the window holds 47 + 30 days. (SEM leaves it out by hand; the
    # engine is given all stays.)
    a = evaluate(
        SCHENGEN,
        stays("2013-06-01:2013-07-13", "2013-08-15:2013-09-30", "2014-01-01:2014-01-30"),
        D("2014-01-30"),
    )
    assert a.overstay_days == 0
    assert a.days_used == 77
    assert a.latest_exit == D("2014-03-31")
    assert a.window_start == D("2013-08-04")


def test_sem_5_short_overstay_then_a_return_for_50_days() -> None:
    # [SEM-5] Stays 01.09-30.09.2013, 21.02-20.04.2014, 01.05-09.06.2014: on departure
    # 09.06.2014 an overstay of 9 days. A return on 30.08.2014 would allow "up to 50 days".
    history = stays("2013-09-01:2013-09-30", "2014-02-21:2014-04-20", "2014-05-01:2014-06-09")
    leaving = evaluate(SCHENGEN, history, D("2014-06-09"))
    assert leaving.overstay_days == 9
    assert [s.overstay_days for s in leaving.stays] == [0, 0, 9]
    # 59 days Feb-Apr + 31 days of May = 90 on 31 May, so 1 June is the first day over.
    assert leaving.stays[2].first_overstay_day == D("2014-06-01")
    returning = evaluate(SCHENGEN, history, D("2014-08-30"))
    assert returning.days_remaining == 50
    assert returning.latest_exit == D("2014-10-18")  # 30 Aug + 49 days
    # SEM must leave out the old stays because the calculator "blocks" after an overstay;
    # the engine gives the same answer with the whole history.
    trimmed = evaluate(SCHENGEN, history[1:], D("2014-08-30"))
    assert trimmed.days_remaining == 50


def test_sem_6_long_overstay_74_days_within_the_reference_period() -> None:
    # [SEM-6] Stays 28.06-09.08.2013 and from 19.09.2013, checked on departure 01.03.2014:
    # "an overstay of 74 days within the 180-day period (03.09.2013 to 01.03.2014)", computed
    # by SEM with the stays from the start of that period only.
    only_period = evaluate(SCHENGEN, stays("2013-09-19:"), D("2014-03-01"))
    assert only_period.overstay_days == 74
    assert only_period.window_start == D("2013-09-03")
    # With the whole history the window still holds 164 days, 74 over the limit ...
    full = evaluate(SCHENGEN, stays("2013-06-28:2013-08-09", "2013-09-19:"), D("2014-03-01"))
    assert full.days_used - 90 == 74
    # ... but checked day by day the stay broke the rule earlier: 43 days in June-August plus
    # 47 days from 19 September reach 90 on 4 November, so 5 November to 1 March (117 days)
    # are days of overstay. This is why SEM warns the calculator gives a different figure.
    assert full.stays[1].first_overstay_day == D("2013-11-05")
    assert full.overstay_days == 117
    assert full.latest_exit == D("2013-11-04")
    assert full.days_remaining == 0


def test_sem_2025_earliest_return_after_90_days_in_a_row() -> None:
    # [SEM-2025] example 1: 1 March to 29 May 2025 is 90 days; the earliest re-entry is
    # 28 August, for up to 90 days again. Example 2: on 15 June 2025 the window (18 December
    # 2024 to 15 June 2025) already holds 90 days: no entry possible.
    history = stays("2025-03-01:2025-05-29")
    assert evaluate(SCHENGEN, history, D("2025-05-29")).days_used == 90
    early = evaluate(SCHENGEN, history, D("2025-06-15"))
    assert early.window_start == D("2024-12-18")
    assert early.days_used == 90
    assert early.latest_exit is None
    assert early.days_remaining == 0
    assert evaluate(SCHENGEN, history, D("2025-08-27")).latest_exit is None
    ok = evaluate(SCHENGEN, history, D("2025-08-28"))
    assert ok.days_remaining == 90


def test_window_is_the_day_checked_and_the_179_before_it() -> None:
    # [SBC-6] A day 180 days back is outside the window; 179 days back is inside.
    as_of = D("2026-06-30")
    inside = evaluate(
        SCHENGEN, [Stay(as_of - timedelta(days=179), as_of - timedelta(days=179))], as_of
    )
    outside = evaluate(
        SCHENGEN, [Stay(as_of - timedelta(days=180), as_of - timedelta(days=180))], as_of
    )
    assert inside.window_start == as_of - timedelta(days=179)
    assert (inside.days_used, outside.days_used) == (1, 0)


def test_entry_and_exit_days_count_and_a_same_day_reentry_counts_once() -> None:
    # [SBC-6] 1-10 March is 10 days; leaving and coming back on 10 March, then staying to
    # 20 March, makes 20 days of presence, not 21.
    one = evaluate(SCHENGEN, stays("2026-03-01:2026-03-10"), D("2026-03-10"))
    assert one.days_used == 10
    two = evaluate(
        SCHENGEN, stays("2026-03-01:2026-03-10", "2026-03-10:2026-03-20"), D("2026-03-20")
    )
    assert two.days_used == 20
    assert [s.days for s in two.stays] == [10, 11]


@settings(max_examples=60, deadline=None)
@given(
    history=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 60)), max_size=6),
    absence=st.integers(90, 200),
)
def test_ec_manual_90_days_away_allow_a_new_90_day_stay(
    history: list[tuple[int, int]], absence: int
) -> None:
    # [EC-manual] Whatever came before (even overstays), after 90 days in a row outside the
    # area a new stay may last 90 days, and not longer.
    day = D("2020-01-01")
    given_stays = []
    for gap, length in history:
        day += timedelta(days=gap)
        given_stays.append(Stay(day, day + timedelta(days=length)))
        day += timedelta(days=length + 1)
    as_of = (given_stays[-1].exit if given_stays else day) + timedelta(days=absence + 1)  # type: ignore[operator]
    a = evaluate(SCHENGEN, given_stays, as_of)
    assert a.days_remaining == 90
    assert a.latest_exit == as_of + timedelta(days=89)


def test_residence_permit_days_are_not_counted() -> None:
    # [SBC-6] art. 6(2): a stay under a residence permit (here all of January to June) does not
    # count; the visitor days from 1 July are counted from zero, so 90 days run to 28 September.
    a = evaluate(
        SCHENGEN,
        stays("2026-01-01:"),
        D("2026-07-10"),
        permits=[PermitCover(D("2026-01-01"), D("2026-06-30"), "RESIDENCE_PERMIT")],
    )
    assert a.days_used == 10
    assert a.overstay_days == 0
    assert a.latest_exit == D("2026-09-28")


# --------------------------------------------------------------------------- Lesotho -> SA


def test_lesotho_visitor_has_30_days_per_entry() -> None:
    a = evaluate(LSO, stays("2026-01-01:"), D("2026-01-10"))
    assert (a.days_used, a.days_remaining, a.latest_exit) == (10, 20, D("2026-01-30"))
    fresh = evaluate(LSO, [], D("2026-01-10"))
    assert (fresh.days_used, fresh.days_remaining, fresh.latest_exit) == (0, 30, D("2026-02-08"))


def test_lesotho_visitor_overstay_counts_days_beyond_the_30th() -> None:
    # 1 January to 5 February is 36 days: days 31-36 (31 January on) are overstay.
    a = evaluate(LSO, stays("2025-12-01:2025-12-10", "2026-01-01:2026-02-05"), D("2026-02-20"))
    assert a.overstay_days == 6
    assert [s.overstay_days for s in a.stays] == [0, 6]
    assert a.stays[1].first_overstay_day == D("2026-01-31")
    assert any("overstayed by 6 days" in line for line in a.explanation)


def test_lesotho_visitor_has_no_yearly_cap_and_same_day_reentry_starts_a_new_visit() -> None:
    # No per-year cap: back-to-back 30-day visits are lawful; re-entering on 30 January gives
    # the new visit its own 30 days, to 28 February.
    a = evaluate(LSO, stays("2026-01-01:2026-01-30", "2026-01-30:"), D("2026-02-10"))
    assert a.overstay_days == 0
    assert a.latest_exit == D("2026-02-28")


def test_lesotho_exemption_permit_allows_staying_until_it_ends() -> None:
    lep = PermitCover(D("2025-01-01"), D("2027-05-28"), "LEP")
    a = evaluate(LSO, stays("2025-03-01:"), D("2026-06-01"), permits=[lep])
    assert a.overstay_days == 0
    assert a.latest_exit == D("2027-05-28")
    assert a.days_remaining == (D("2027-05-28") - D("2026-06-01")).days


def test_lesotho_permit_that_ends_mid_stay_leaves_the_days_after_it_as_overstay() -> None:
    # Entered 1 Jan as a visitor (30 days: to 30 Jan), LEP from 20 Jan to 28 Feb; permit days
    # still count, so once the permit ends (28 Feb) every further day is an overstay.
    lep = PermitCover(D("2026-01-20"), D("2026-02-28"), "LEP")
    a = evaluate(LSO, stays("2026-01-01:"), D("2026-03-10"), permits=[lep])
    assert a.latest_exit == D("2026-02-28")
    assert a.overstay_days == 10  # 1-10 March
    assert a.stays[0].first_overstay_day == D("2026-03-01")


def test_a_permit_type_that_does_not_lift_the_limit_is_ignored_and_said_so() -> None:
    fcc = PermitCover(D("2026-01-01"), D("2026-12-31"), "FCC")
    a = evaluate(LSO, stays("2026-01-01:"), D("2026-02-15"), permits=[fcc])
    assert a.overstay_days == 16  # 31 Jan to 15 Feb
    assert any("FCC" in line and "not taken into account" in line for line in a.explanation)


def test_the_90_day_lesotho_version_is_off_until_given_a_date() -> None:
    # Shipped: announced in 2024, not in force, so the 30-day version applies on any day.
    assert LSO.version_on(D("2031-01-01")).max_days_per_entry == 30  # type: ignore[union-attr]
    # Switching it on is one line in the rule file (docs/stay-rules.md).
    from importlib import resources

    text = (
        resources.files("tsela.reference")
        .joinpath("stay_rules/lso-to-zaf.toml")
        .read_text(encoding="utf-8")
    )
    switched = parse_rule(
        text.replace(
            'label = "90-day visa exemption"\n',
            'label = "90-day visa exemption"\neffective_from = 2026-07-01\n',
        ),
        "lso-to-zaf.toml",
    )
    assert switched.version_on(D("2026-06-30")).max_days_per_entry == 30  # type: ignore[union-attr]
    assert switched.version_on(D("2026-07-01")).max_days_per_entry == 90  # type: ignore[union-attr]
    before = evaluate(switched, stays("2026-06-01:"), D("2026-06-30"))
    after = evaluate(switched, stays("2026-06-01:"), D("2026-07-15"))
    assert before.latest_exit == D("2026-06-30")  # 30 days from 1 June
    assert after.latest_exit == D("2026-08-29")  # 90 days from 1 June
    assert after.overstay_days == 0
    assert any("before this version took effect" in line for line in after.explanation)


def test_lesotho_rule_lists_exactly_the_permit_types_that_override_the_stay_limit() -> None:
    # The rule file repeats permit_types.toml's overrides_stay_limit; they must agree.
    import tomllib
    from importlib import resources

    folder = resources.files("tsela.reference")
    if not folder.joinpath("permit_types.toml").is_file():
        pytest.skip("permit_types.toml is not shipped")
    types = tomllib.loads(folder.joinpath("permit_types.toml").read_text(encoding="utf-8"))
    overriding = {
        code
        for code, t in types["types"].items()
        if t.get("overrides_stay_limit") and "ZAF" in t.get("countries", [])
    }
    for version in LSO.versions:
        assert set(version.permit_overrides) == overriding


# --------------------------------------------------------------------------- rule selection


def test_select_rule_by_nationality_destination_and_date() -> None:
    rules = load_rules()
    on = D("2026-05-01")
    assert select_rule(rules, "lso", "zaf", on=on).id == "LSO-ZAF-VISITOR"
    assert select_rule(rules, "LSO", "ZAF", on=on, permit_type="LEP").id == "LSO-ZAF-VISITOR"
    assert select_rule(rules, "USA", "FRA", on=on).id == "SCHENGEN-90-180"
    assert select_rule(rules, "LSO", "DEU", on=on).id == "SCHENGEN-90-180"
    # both directions across the common border (issue 18, item 6)
    assert select_rule(rules, "ZAF", "LSO", on=on).id == "ZAF-LSO-VISITOR"
    with pytest.raises(
        UnknownRuleError,
        match="no stay rule in force on 2026-05-01 for nationality ZWE travelling to LSO",
    ):
        select_rule(rules, "ZWE", "LSO", on=on)
    with pytest.raises(UnknownRuleError, match="no stay rule in force on 2010-01-01"):
        select_rule(rules, "USA", "FRA", on=D("2010-01-01"))


def test_a_rule_for_a_nationality_beats_one_for_anyone() -> None:
    general = _rule("ANY-FRA", nationality=["*"], destination=["FRA"])
    special = _rule("LSO-FRA", nationality=["LSO"], destination=["FRA"])
    assert select_rule([general, special], "LSO", "FRA", on=D("2026-01-01")).id == "LSO-FRA"
    assert select_rule([general, special], "BWA", "FRA", on=D("2026-01-01")).id == "ANY-FRA"
    with pytest.raises(UnknownRuleError, match="several stay rules apply"):
        select_rule(
            [general, _rule("ANY-FRA-2", nationality=["*"], destination=["FRA"])],
            "BWA",
            "FRA",
            on=D("2026-01-01"),
        )


def _rule(rule_id: str, **kw: object) -> StayRule:
    data: dict[str, object] = {
        "id": rule_id,
        "title": "test",
        "nationality": ["LSO"],
        "destination": ["ZAF"],
        "source": "test",
        "version": [
            {
                "label": "v1",
                "effective_from": "2000-01-01",
                "max_days_per_entry": 30,
                "source": "test",
            }
        ],
    }
    data.update(kw)
    return StayRule.model_validate(data)


def test_unknown_rule_names_the_known_ones() -> None:
    with pytest.raises(UnknownRuleError) as err:
        get_rule("MARS-90")
    assert str(err.value) == (
        "unknown stay rule 'MARS-90': known rules are LSO-ZAF-VISITOR, SCHENGEN-90-180, "
        "ZAF-LSO-VISITOR"
    )
    assert get_rule("schengen-90-180").id == "SCHENGEN-90-180"


def test_shipped_rules_cite_their_sources() -> None:
    for rule in load_rules().values():
        assert rule.source.strip()
        assert all(v.source.strip() for v in rule.versions)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("given", "as_of", "message"),
    [
        (
            ["2026-01-01:2026-01-05", "2026-03-05:2026-03-01"],
            "2026-04-01",
            "stay 2 (2026-03-05:2026-03-01): exit before entry",
        ),
        (
            ["2026-02-01:2026-02-11", "2026-03-01:2026-03-02", "2026-02-10:2026-02-10"],
            "2026-04-01",
            "stays 1 and 3 overlap on 2026-02-10",
        ),
        (
            ["2026-02-05:2026-02-20", "2026-02-01:2026-02-12"],
            "2026-04-01",
            "stays 1 and 2 overlap from 2026-02-05 to 2026-02-12",
        ),
        (
            ["2026-01-01:", "2026-02-01:2026-02-03"],
            "2026-04-01",
            "stays 1 and 2 overlap: stay 1 (2026-01-01:) has no exit, "
            "but stay 2 (2026-02-01:2026-02-03) begins on 2026-02-01",
        ),
        (
            ["2026-05-01:"],
            "2026-04-01",
            "stay 1 (2026-05-01:): entry is after the as-of date 2026-04-01",
        ),
        (
            ["2026-03-01:2026-04-10"],
            "2026-04-01",
            "stay 1 (2026-03-01:2026-04-10): exit is after the as-of date 2026-04-01",
        ),
    ],
)
def test_impossible_stays_are_refused_naming_the_stay(
    given: list[str], as_of: str, message: str
) -> None:
    with pytest.raises(StayInputError) as err:
        evaluate(LSO, stays(*given), D(as_of))
    assert str(err.value).startswith(message)


def test_overlap_is_found_whatever_the_order() -> None:
    given = stays("2026-01-01:2026-01-31", "2026-03-01:2026-03-05", "2026-01-20:2026-01-25")
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        with pytest.raises(StayInputError, match="overlap"):
            evaluate(LSO, [given[i] for i in order], D("2026-04-01"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13-01:", "stay 1 ('2026-13-01:'): entry '2026-13-01' is not a date (YYYY-MM-DD)"),
        ("2026-01-01", "stay 1 ('2026-01-01'): write ENTRY:EXIT or ENTRY: with ISO dates"),
        ("2026-01-01:soon", "stay 1 ('2026-01-01:soon'): exit 'soon' is not a date"),
    ],
)
def test_unreadable_stays_are_refused(text: str, message: str) -> None:
    with pytest.raises(StayInputError) as err:
        Stay.parse(text, number=1)
    assert str(err.value).startswith(message)


def test_permit_errors_name_the_permit() -> None:
    with pytest.raises(
        StayInputError,
        match=r"permit 1 \(LEP:2026-03-01:2026-02-01\): valid to is before valid from",
    ):
        evaluate(
            LSO, [], D("2026-04-01"), permits=[PermitCover(D("2026-03-01"), D("2026-02-01"), "LEP")]
        )
    with pytest.raises(StayInputError, match="permit 2 \\('LEP:2026'\\): write TYPE:FROM:TO"):
        PermitCover.parse("LEP:2026", number=2)


def test_a_day_before_the_rule_took_effect_is_refused() -> None:
    with pytest.raises(
        RuleNotInForceError,
        match="as-of date 2010-01-01: rule SCHENGEN-90-180 has no version in force",
    ):
        evaluate(SCHENGEN, [], D("2010-01-01"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("id = 'X'\n[[version]]\n", "stay rule file bad.toml: title: Field required"),
        (
            "id = 'X'\ntitle = 'x'\nnationality=['LSO']\ndestination=['ZAF']\nsource='s'\n"
            "[[version]]\nlabel='a'\nsource='s'\nmax_days_in_window = 5\n",
            "version 1: window_days and max_days_in_window go together",
        ),
        (
            "id = 'X'\ntitle = 'x'\nnationality=['LSO']\ndestination=['ZAF']\nsource='s'\n"
            "[[version]]\nlabel='a'\nsource='s'\nwindow_days = 10\nmax_days_in_window = 10\n",
            "max_days_in_window (10) must be less than window_days (10)",
        ),
        (
            "id = 'X'\ntitle = 'x'\nnationality=['LSX']\ndestination=['ZAF']\nsource='s'\n"
            "[[version]]\nlabel='a'\nsource='s'\nmax_days_per_entry = 3\n",
            "nationality: nationality 'LSX' is not an ISO 3166-1 alpha-3 country code or '*'",
        ),
        (
            "id = 'X'\ntitle = 'x'\nnationality=['LSO']\ndestination=['ZAF']\nsource='s'\n"
            "[[version]]\nlabel='a'\nsource='s'\nmax_days_per_entry = 3\nmax_day_per_entry = 4\n",
            "version 1.max_day_per_entry: Extra inputs are not permitted",
        ),
        (
            "id = 'X'\ntitle = 'x'\nnationality=['LSO']\ndestination=['ZAF']\nsource='s'\n"
            "[[version]]\nlabel='a'\nsource='s'\nmax_days_per_entry = 3\n"
            "effective_from = 2020-01-01\n"
            "[[version]]\nlabel='b'\nsource='s'\nmax_days_per_entry = 9\n"
            "effective_from = 2020-01-01\n",
            "versions 'a' and 'b' both take effect on 2020-01-01",
        ),
        ("id = 'X\n", "stay rule file bad.toml: not valid TOML"),
    ],
)
def test_bad_rule_files_are_refused_naming_file_and_field(body: str, message: str) -> None:
    with pytest.raises(RuleFileError) as err:
        parse_rule(body, "bad.toml")
    assert message in str(err.value)


# --------------------------------------------------------------------------- properties

BASE = D("2024-01-01")
rule_params = st.one_of(
    st.builds(
        lambda e, w: (e, None, None) if w is None else (e, *w),
        st.integers(1, 40),
        st.none(),
    ),
    st.builds(
        lambda e, m, frac: (e, m, max(1, min(m - 1, int(m * frac)))),
        st.one_of(st.none(), st.integers(1, 40)),
        st.integers(3, 60),
        st.floats(0.05, 0.95),
    ),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Stay], date]:
    """Disjoint stays (some re-entering on their exit day), the last maybe still open."""
    parts = draw(st.lists(st.tuples(st.integers(-1, 30), st.integers(0, 45)), max_size=8))
    out: list[Stay] = []
    day = BASE
    for gap, length in parts:
        entry = day + timedelta(days=max(gap, 0)) if out else day
        if gap < 0 and out:
            entry = out[-1].exit  # type: ignore[assignment]  # same-day re-entry
        out.append(Stay(entry, entry + timedelta(days=length)))
        day = entry + timedelta(days=length + 1)
    as_of = (out[-1].exit if out else BASE) + timedelta(days=draw(st.integers(0, 40)))  # type: ignore[operator]
    if out and draw(st.booleans()):
        out[-1] = Stay(out[-1].entry, None)  # still in the country
    return out, as_of


def make_rule(params: tuple[int | None, int | None, int | None], counts: bool = True) -> StayRule:
    per_entry, window, cap = params
    version: dict[str, object] = {
        "label": "test",
        "effective_from": "2000-01-01",
        "source": "test",
        "permit_overrides": ["WORK"],
        "permit_days_count": counts,
    }
    if per_entry is not None:
        version["max_days_per_entry"] = per_entry
    if window is not None:
        version["window_days"], version["max_days_in_window"] = window, cap
    return StayRule.model_validate(
        {
            "id": "T",
            "title": "t",
            "nationality": ["*"],
            "destination": ["ZAF"],
            "source": "t",
            "version": [version],
        }
    )


permit_lists = st.lists(
    st.tuples(st.integers(-10, 300), st.integers(0, 60), st.sampled_from(["WORK", "VISIT"])),
    max_size=3,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), params=rule_params, permits=permit_lists, counts=st.booleans())
def test_engine_agrees_with_a_day_by_day_count(
    history: tuple[list[Stay], date],
    params: tuple[int | None, int | None, int | None],
    permits: list[tuple[int, int, str]],
    counts: bool,
) -> None:
    given_stays, as_of = history
    rule = make_rule(params, counts)
    covers = [
        PermitCover(BASE + timedelta(days=s), BASE + timedelta(days=s + n), kind)
        for s, n, kind in permits
    ]
    got = evaluate(rule, given_stays, as_of, covers)
    want = naive.naive_evaluate(
        naive.NaiveRule(params[0], params[1], params[2], counts),
        [(s.entry, s.exit) for s in given_stays],
        as_of,
        [(p.valid_from, p.valid_to) for p in covers if p.permit_type == "WORK"],
    )
    assert got.days_used == want["days_used"]
    assert got.days_remaining == want["days_remaining"]
    assert got.latest_exit == want["latest_exit"]
    assert got.overstay_days == want["overstay_days"]
    assert [s.overstay_days for s in got.stays] == want["per_stay"]


@settings(max_examples=150, deadline=None)
@given(history=histories(), params=rule_params, seed=st.integers(0, 2**32))
def test_results_do_not_depend_on_the_order_of_the_stays(
    history: tuple[list[Stay], date], params: tuple[int | None, int | None, int | None], seed: int
) -> None:
    given_stays, as_of = history
    rule = make_rule(params)
    shuffled = list(given_stays)
    random.Random(seed).shuffle(shuffled)
    assert evaluate(rule, shuffled, as_of).as_dict() == evaluate(rule, given_stays, as_of).as_dict()


@settings(max_examples=200, deadline=None)
@given(history=histories(), params=rule_params, pick=st.integers(0, 10), later=st.booleans())
def test_adding_a_day_of_stay_never_adds_days_remaining(
    history: tuple[list[Stay], date],
    params: tuple[int | None, int | None, int | None],
    pick: int,
    later: bool,
) -> None:
    given_stays, as_of = history
    assume(given_stays)  # a day is added to one of them
    i = pick % len(given_stays)
    s = given_stays[i]
    if later and s.exit is not None:
        grown = Stay(s.entry, s.exit + timedelta(days=1))  # leave a day later
    else:
        grown = Stay(s.entry - timedelta(days=1), s.exit)  # arrive a day earlier
    longer = [*given_stays[:i], grown, *given_stays[i + 1 :]]
    rule = make_rule(params)
    before = evaluate(rule, given_stays, as_of)
    try:
        after = evaluate(rule, longer, as_of)
    except StayInputError:
        reject()  # the extra day would overlap another stay or pass the as-of date
    assert after.days_remaining <= before.days_remaining
    assert after.overstay_days >= before.overstay_days
    if before.latest_exit is None:
        assert after.latest_exit is None
    elif after.latest_exit is not None:
        assert after.latest_exit <= before.latest_exit


@settings(max_examples=100, deadline=None)
@given(history=histories(), params=rule_params)
def test_answers_are_consistent_with_each_other(
    history: tuple[list[Stay], date], params: tuple[int | None, int | None, int | None]
) -> None:
    given_stays, as_of = history
    rule = make_rule(params)
    a = evaluate(rule, given_stays, as_of)
    assert a.overstay_days == sum(s.overstay_days for s in a.stays) >= 0
    assert (a.days_remaining == 0) == (
        a.latest_exit is None or (a.latest_exit <= as_of and a.ongoing)
    )
    if params[1] is not None:
        assert 0 <= a.days_used <= params[1]
    if a.latest_exit is not None and a.days_remaining:
        assert a.latest_exit >= as_of
    assert a.explanation and all(line.endswith(".") for line in a.explanation)
