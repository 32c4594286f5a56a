"""The stay rules with the partner's records as evidence (pure: fixed dates, no store)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tsela.domain import decisions as dec
from tsela.domain import stay as staylib

D0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 12, 20)


def _ls(direction: str, at: datetime, port: str = "MSU", id: str = "ls-1") -> dec.PartnerRecord:
    return dec.PartnerRecord(
        record_id=id,
        node="LS",
        direction=direction,
        country="LSO",
        crossed_at=at,
        port=port,
        port_name="Maseru Bridge" if port == "MSU" else port,
        shared_post=port != "MSX",
    )


def _overstay(stays: list[tuple[date, date | None]]) -> int:
    rule = staylib.get_rule("LSO-ZAF-VISITOR")
    return staylib.evaluate(rule, [staylib.Stay(a, b) for a, b in stays], as_of=AS_OF).overstay_days


def test_an_entry_into_lesotho_ends_the_stay_whose_exit_south_africa_never_recorded() -> None:
    ours = [dec.PastCrossing("entry", D0, "MSU")]
    lesotho = [_ls("entry", D0 + timedelta(days=10), id="0193-ls-entry")]
    assert _overstay(dec.stays_from_history(ours)) > 0  # by our records, never left
    stays = dec.stays_from_history(ours, lesotho)
    assert stays == [(date(2026, 10, 1), date(2026, 10, 11))]
    assert _overstay(stays) == 0
    history, reasons = dec.with_partner_records(ours, lesotho)
    assert history[-1] == dec.PastCrossing("exit", D0 + timedelta(days=10), "MSU", "0193-ls-entry")
    (reason,) = reasons
    assert reason.code == "stay.partner_record.exit"
    assert "0193-ls-entry" in reason.message and "Lesotho" in reason.message


def test_an_exit_from_lesotho_over_the_border_starts_a_stay_we_never_recorded() -> None:
    ours = [dec.PastCrossing("exit", D0 + timedelta(days=45), "FKB")]
    lesotho = [_ls("exit", D0, port="FKB", id="ls-exit")]
    assert dec.stays_from_history(ours) == []
    assert dec.stays_from_history(ours, lesotho) == [(date(2026, 10, 1), date(2026, 11, 15))]
    _, reasons = dec.with_partner_records(ours, lesotho)
    assert [r.code for r in reasons] == ["stay.partner_record.entry"]


def test_partner_records_only_fill_gaps() -> None:
    ours = [
        dec.PastCrossing("entry", D0, "MSU"),
        dec.PastCrossing("exit", D0 + timedelta(days=5), "MSU"),
    ]
    # Lesotho's half of the same exit (minutes later), and a flight out of Maseru (which
    # may lead anywhere): neither changes our history.
    lesotho = [
        _ls("entry", D0 + timedelta(days=5, minutes=12)),
        _ls("exit", D0 + timedelta(days=20), port="MSX", id="air"),
    ]
    history, reasons = dec.with_partner_records(ours, lesotho)
    assert history == ours and reasons == []
    # The crossing being checked right now is not evidence about earlier stays.
    later = [_ls("exit", D0 + timedelta(days=30), id="now")]
    _, reasons = dec.with_partner_records(ours, later, until=D0 + timedelta(days=30))
    assert reasons == []
