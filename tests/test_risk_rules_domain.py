"""Risk rules as data (issue 18, item 5), the pure part: the rules file read and checked,
each rule hitting exactly where its parameters say (and not one minute or day beyond), the
explanation naming the facts, "inform only" showing the hit without changing the decision,
and a rule switched off never evaluated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tsela.domain import decisions as dec
from tsela.domain import risk
from tsela.domain.reasons import Severity, words
from tsela.domain.risk import CheckFacts, DocumentUse, Mode, PartnerRefusal
from tsela.reference import reference_file

# 10:00 at the border (SAST, UTC+2) on 12 May 2026.
AT = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)
ALL_ON = {r: Mode.ON for r in risk.RULE_IDS}


def facts(**kw: object) -> CheckFacts:
    base: dict[str, object] = {
        "node": "LS",
        "country": "LSO",
        "port": "MSU",
        "direction": "entry",
        "at": AT,
        "nationality": "ZAF",
        "birth_date": date(1990, 1, 1),
    }
    return CheckFacts(**(base | kw))  # type: ignore[arg-type]


def hits(f: CheckFacts, modes: dict[str, Mode] | None = None) -> dict[str, risk.Hit]:
    return {h.rule: h for h in risk.evaluate(f, ALL_ON if modes is None else modes)}


def test_the_shipped_file_has_every_rule_with_words_source_and_parameters() -> None:
    rules = risk.rules()
    assert tuple(rules.rules) == risk.RULE_IDS
    for rule in rules.rules.values():
        assert rule.reason == f"risk.{rule.id}"
        assert rule.words["en"] and rule.words["st"] and rule.words["en"] != rule.words["st"]
        assert rule.source and rule.rationale
        assert rule.default_mode is Mode.ON
    assert rules.parameters("visa_run") == risk.VisaRun(25, 30, 7, 3, 183)
    night = rules.parameters("child_alone_night")
    assert isinstance(night, risk.ChildAloneNight)
    assert night.is_night(datetime(2026, 1, 1, 23, 0).time())
    assert night.is_night(datetime(2026, 1, 1, 5, 59).time())
    assert not night.is_night(datetime(2026, 1, 1, 6, 0).time())
    assert not night.is_night(datetime(2026, 1, 1, 17, 59).time())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("window_minutes = 60", "window_minutes = -1"), "not a whole number"),
        (("window_minutes = 60", "window_hours = 1"), "unknown window_hours; missing"),
        (('night_ends = "06:00"', 'night_ends = "six"'), "not a time HH:MM"),
        (('reason = "risk.visa_run"', 'reason = "risk.nothing"'), "no reason risk.nothing"),
        (('default_mode = "on"', 'default_mode = "maybe"'), "is not on, inform or off"),
        (("[rules.visa_run]", "[rules.visa_walk]"), "unknown rule visa_walk"),
        (("min_stays = 3", "min_stays = 1"), "min_stays >= 2"),
    ],
)
def test_a_wrong_rules_file_is_refused_naming_the_problem(
    change: tuple[str, str], problem: str
) -> None:
    text = reference_file("risk_rules.toml")
    assert change[0] in text
    broken = text.replace(change[0], change[1], 1)
    if "[rules.visa_walk]" in broken:
        broken = broken.replace("[rules.visa_run.parameters]", "[rules.visa_walk.parameters]")
    with pytest.raises(risk.RiskRuleFileError, match=problem):
        risk.parse(broken)


# --------------------------------------------------------------------------- two ports


def test_the_same_document_at_another_port_within_the_hour_refers_naming_it() -> None:
    use = DocumentUse("FKB", AT - timedelta(minutes=42), "LS", "check-1")
    hit = hits(facts(document_uses=[use]))["document_two_ports"]
    assert hit.reason.severity is Severity.REFER
    assert hit.reason.params["other_port"] == "FKB"
    assert hit.reason.params["minutes"] == "42"
    assert "used at FKB at 09:18, 42 minutes from this check" in hit.reason.message
    assert "FKB ka 09:18" in words(hit.reason, "st")


def test_the_same_post_or_more_than_an_hour_apart_is_no_hit() -> None:
    same_post = DocumentUse("MSU", AT - timedelta(minutes=5), "ZA", "partner-1")
    too_early = DocumentUse("FKB", AT - timedelta(minutes=61), "LS", "check-2")
    just_in = DocumentUse("CAL", AT + timedelta(minutes=60), "LS", "check-3")
    assert "document_two_ports" not in hits(facts(document_uses=[same_post, too_early]))
    assert (
        hits(facts(document_uses=[too_early, just_in]))["document_two_ports"].reason.params[
            "other_port"
        ]
        == "CAL"
    )


# --------------------------------------------------------------------------- refused


def refusal(at: datetime, port: str = "FKB", node: str = "ZA") -> PartnerRefusal:
    return PartnerRefusal("r-1", node, "ZAF", port, at, ("C", "E"))


def test_a_refusal_by_the_partner_in_the_last_7_days_refers() -> None:
    hit = hits(facts(partner_refusals=[refusal(AT - timedelta(days=3))]))["refused_at_partner"]
    p = hit.reason.params
    assert (p["day"], p["days"], p["grounds"], p["node"]) == ("2026-05-09", "3", "C, E", "ZA")
    assert "refused entry into South Africa at FKB on 2026-05-09, 3 days ago" in (
        hit.reason.message
    )
    assert "Afrika Boroa" in words(hit.reason, "st")


def test_an_old_refusal_our_own_or_being_sent_back_is_no_hit() -> None:
    old = refusal(AT - timedelta(days=7, minutes=1))
    ours = refusal(AT - timedelta(days=1), node="LS")
    sent_back = refusal(AT - timedelta(minutes=90), port="MSU")  # refused at MSU, back in
    assert "refused_at_partner" not in hits(facts(partner_refusals=[old, ours, sent_back]))
    # ... but leaving again through the same post that soon is another attempt
    leaving = hits(facts(direction="exit", partner_refusals=[sent_back]))
    assert "refused_at_partner" in leaving


# --------------------------------------------------------------------------- visa runs


def history(*stays: tuple[date, date]) -> list[dec.PastCrossing]:
    out = []
    for entry, leave in stays:
        entered = datetime(entry.year, entry.month, entry.day, 9, tzinfo=UTC)
        left = datetime(leave.year, leave.month, leave.day, 15, tzinfo=UTC)
        out += [dec.PastCrossing("entry", entered, "MSU"), dec.PastCrossing("exit", left, "MSU")]
    return out


def test_three_stays_just_under_the_limit_with_short_gaps_refer_at_the_next_entry() -> None:
    # 28, 30 and 25 days (entry and exit day count), then 3, 7 and 2 days out (to today).
    runs = history(
        (date(2026, 1, 20), date(2026, 2, 16)),
        (date(2026, 2, 19), date(2026, 3, 20)),
        (date(2026, 3, 27), date(2026, 4, 20)),
    )
    f = facts(history=runs, at=datetime(2026, 4, 22, 8, 0, tzinfo=UTC))
    hit = hits(f)["visa_run"]
    p = hit.reason.params
    assert (p["count"], p["shortest"], p["longest"], p["gap"]) == ("3", "25", "30", "7")
    assert p["stays"] == ("2026-01-20/2026-02-16, 2026-02-19/2026-03-20, 2026-03-27/2026-04-20")
    assert "3 stays in Lesotho of 25 to 30 days" in hit.reason.message
    # Not at an exit, not for a citizen, not with one gap too long.
    assert "visa_run" not in hits(facts(history=runs, at=f.at, direction="exit"))
    assert "visa_run" not in hits(facts(history=runs, at=f.at, nationality="LSO"))
    late = facts(history=runs, at=datetime(2026, 4, 28, 8, 0, tzinfo=UTC))  # 8 days out
    assert "visa_run" not in hits(late)


def test_a_stay_of_24_or_31_days_or_begun_before_the_six_months_does_not_count() -> None:
    at = datetime(2026, 4, 22, 8, 0, tzinfo=UTC)
    short = history(
        (date(2026, 1, 21), date(2026, 2, 13)),  # 24 days
        (date(2026, 2, 19), date(2026, 3, 20)),
        (date(2026, 3, 27), date(2026, 4, 20)),
    )
    assert "visa_run" not in hits(facts(history=short, at=at))
    long = history(
        (date(2026, 1, 20), date(2026, 2, 19)),  # 31 days
        (date(2026, 2, 22), date(2026, 3, 20)),
        (date(2026, 3, 27), date(2026, 4, 20)),
    )
    assert "visa_run" not in hits(facts(history=long, at=at))
    old = history(
        (date(2025, 10, 1), date(2025, 10, 28)),  # began 203 days before
        (date(2025, 10, 30), date(2026, 3, 20)),
        (date(2026, 3, 27), date(2026, 4, 20)),
    )
    assert "visa_run" not in hits(facts(history=old, at=at))


def test_a_same_day_exit_and_re_entry_is_a_gap_of_nought_days() -> None:
    stays = risk.completed_stays(
        history((date(2026, 1, 1), date(2026, 1, 28)), (date(2026, 1, 28), date(2026, 2, 20)))
    )
    assert stays == [
        (date(2026, 1, 1), date(2026, 1, 28), date(2026, 1, 28)),
        (date(2026, 1, 28), date(2026, 2, 20), None),
    ]


# --------------------------------------------------------------------------- children


def test_a_child_alone_at_night_by_the_ports_clock() -> None:
    child = date(2014, 6, 1)  # 11 on the border day
    night = datetime(2026, 5, 12, 17, 30, tzinfo=UTC)  # 19:30 at the border
    hit = hits(facts(at=night, birth_date=child, child_case="alone"))["child_alone_night"]
    assert hit.reason.params == {
        "age": "11", "time": "19:30", "night_starts": "18:00", "night_ends": "06:00"
    }  # fmt: skip
    assert "crossing alone at 19:30" in hit.reason.message
    day = datetime(2026, 5, 12, 15, 59, tzinfo=UTC)  # 17:59
    assert "child_alone_night" not in hits(facts(at=day, birth_date=child, child_case="alone"))
    with_parent = facts(at=night, birth_date=child, child_case="one_parent")
    assert "child_alone_night" not in hits(with_parent)
    adult = facts(at=night, birth_date=date(2008, 5, 12), child_case="alone")  # 18 that day
    assert "child_alone_night" not in hits(adult)


# --------------------------------------------------------------------------- modes


def test_inform_only_shows_the_hit_without_changing_the_decision_and_off_skips_it() -> None:
    f = facts(document_uses=[DocumentUse("FKB", AT - timedelta(minutes=10), "LS", "c")])
    inform = hits(f, {"document_two_ports": Mode.INFORM})["document_two_ports"]
    assert inform.mode is Mode.INFORM and inform.reason.variant == "inform"
    assert inform.reason.severity is Severity.INFO
    assert inform.reason.message.startswith("Risk rule (inform only):")
    assert dec.decide([inform.reason]).value == "CLEAR"
    assert hits(f, {"document_two_ports": Mode.OFF}) == {}
    assert risk.active({"document_two_ports": Mode.OFF, "visa_run": Mode.INFORM}) == frozenset(
        {"refused_at_partner", "visa_run", "child_alone_night"}
    )
    # Unset rules run in the file's mode (on).
    assert hits(f, {})["document_two_ports"].reason.severity is Severity.REFER
