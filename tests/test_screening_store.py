"""Screening services on SQLite and PostgreSQL: importers, atomic replace, cached index."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from tsela.domain.screening import ScreeningInputError
from tsela.services.screening import (
    ImportFileError,
    check_document,
    current_index,
    import_watchlist,
    list_watchlists,
    screen,
)
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent
from tsela.store.watchlists import (
    DocumentAlert,
    Watchlist,
    WatchlistCategory,
    WatchlistEntry,
    WatchlistKind,
)

TODAY = date(2026, 11, 25)

GOOD_AND_BAD = """\
Full Name,aliases,birth_date,nationality,category
Lineo Mokoena,Lineo M.,1985-03-14,LSO,wanted
,,1990,,
Tšepo Moshoeshoe,,1990,ls,
Bad Date,,1985-13-40,LSO,
Thabo Mokoena,,1962-11-30,ZAF,trafficking
Sipho Dlamini,,1970,Narnia,
Grace Smith,,1980,,nonsense
"""


def load(engine: Engine, data: str | bytes, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = dict(
        list_name="wanted-persons",
        fmt="csv",
        actor="supervisor1",
        node="LS",
        category=WatchlistCategory.WANTED,
        today=TODAY,
    )
    args.update(kw)
    return import_watchlist(engine, data=data, **args)  # type: ignore[arg-type]


def count(engine: Engine, model: type) -> int:
    with session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_csv_import_loads_good_rows_and_reports_bad_ones_by_line(engine: Engine) -> None:
    # Three bad rows in seven: refused unless confirmed (tests/test_watchlist_reliability.py).
    report = load(engine, GOOD_AND_BAD, mapping=["Full Name=name"], confirm=True)
    assert report.loaded == 4
    assert [(e.line, e.message) for e in report.errors] == [
        (3, "no name"),
        (5, "birth date 1985-13-40: month 13 is not 1-12"),
        (
            8,
            "category 'nonsense' is not one of wanted, trafficking, deportation, banned_entry, "
            "sanctions, missing_person, protect, other",
        ),
    ]
    assert [(w.line, w.message) for w in report.warnings] == [
        (7, "unknown country 'Narnia' left out")
    ]
    with session_factory(engine)() as s:
        rows = {e.names[0]: e for e in s.scalars(select(WatchlistEntry))}
    assert set(rows) == {"Lineo Mokoena", "Tšepo Moshoeshoe", "Thabo Mokoena", "Sipho Dlamini"}
    assert rows["Lineo Mokoena"].names == ["Lineo Mokoena", "Lineo M."]
    assert rows["Lineo Mokoena"].birth_date == date(1985, 3, 14)
    assert rows["Tšepo Moshoeshoe"].birth_date is None
    assert rows["Tšepo Moshoeshoe"].birth_year == 1990
    assert rows["Tšepo Moshoeshoe"].nationalities == ["LSO"]
    assert rows["Thabo Mokoena"].category is WatchlistCategory.TRAFFICKING_VICTIM
    assert rows["Sipho Dlamini"].line == 7


def test_import_replaces_the_list_atomically_and_records_who(engine: Engine) -> None:
    first = load(engine, "name\nLineo Mokoena\nThabo Mokoena\n", actor="alice")
    second = load(engine, "name\nPalesa Mofokeng\n", actor="bob", confirm=True)
    assert (first.version, second.version, second.replaced) == (1, 2, 2)
    with session_factory(engine)() as s:
        names = [e.names[0] for e in s.scalars(select(WatchlistEntry))]
        wl = s.scalars(select(Watchlist)).one()
        actions = [
            (a.actor, a.action, a.detail["version"])
            for a in s.scalars(select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id))
        ]
    assert names == ["Palesa Mofokeng"]
    assert (wl.version, wl.imported_by, wl.entry_count) == (2, "bob", 1)
    assert actions == [("alice", "watchlist.import", 1), ("bob", "watchlist.import", 2)]


def test_a_file_without_good_rows_leaves_the_list_unchanged(engine: Engine) -> None:
    load(engine, "name\nLineo Mokoena\n")
    with pytest.raises(ImportFileError, match="no valid rows") as caught:
        load(engine, "name,birth_date\nX,1985-02-30\n")
    assert caught.value.errors[0].line == 2
    with pytest.raises(ImportFileError, match="no column for name"):
        load(engine, "fullname\nLineo Mokoena\n")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        load(engine, b"name\n\xff\xfe\x00garbage\n")
    with session_factory(engine)() as s:
        assert [e.names[0] for e in s.scalars(select(WatchlistEntry))] == ["Lineo Mokoena"]
        assert s.scalars(select(Watchlist.version)).one() == 1


def test_a_failure_while_writing_keeps_the_old_version(engine: Engine) -> None:
    load(engine, "name\nLineo Mokoena\n")
    # A document list of the same name cannot replace a person list: refused inside the
    # transaction, after the old version was locked.
    with pytest.raises(ValueError, match="holds person entries"):
        load(engine, "issuing_state,number,status\nLSO,RA1,lost\n", kind=WatchlistKind.DOCUMENT)
    assert count(engine, WatchlistEntry) == 1
    assert count(engine, DocumentAlert) == 0


FTM = [
    {
        "id": "os-1",
        "schema": "Person",
        "properties": {
            "name": ["Chaba Molapo"],
            "alias": ["Tjhaba Molapo"],
            "birthDate": ["1971-05-06", "1971"],
            "nationality": ["ls", "suhh"],
            "passportNumber": ["RA 123456"],
        },
        "datasets": ["test"],
    },
    {"id": "c-1", "schema": "Company", "properties": {"name": ["Acme"]}},
    {"id": "os-2", "schema": "Person", "properties": {"name": ["Bad Born"], "birthDate": ["2999"]}},
]


def test_ftm_import_reads_persons_and_skips_other_schemas(engine: Engine) -> None:
    text = "\n".join(json.dumps(e) for e in FTM) + "\n{not json\n"
    report = load(engine, text, fmt="ftm", list_name="opensanctions", confirm=True)
    assert (report.loaded, report.ignored) == (1, 1)
    assert [e.line for e in report.errors] == [3, 4]
    assert "outside" in report.errors[0].message
    assert "not a JSON object" in report.errors[1].message
    assert any("suhh" in w.message for w in report.warnings)
    with session_factory(engine)() as s:
        entry = s.scalars(select(WatchlistEntry)).one()
    assert entry.names == ["Chaba Molapo", "Tjhaba Molapo"]
    assert entry.birth_date == date(1971, 5, 6)
    assert entry.nationalities == ["LSO"]
    assert entry.documents == ["RA123456"]
    assert entry.external_id == "os-1"


def test_screen_finds_the_other_orthography_and_explains(engine: Engine) -> None:
    load(engine, GOOD_AND_BAD, mapping=["Full Name=name"], confirm=True)
    hits = screen(engine, "Dineo Mokoena", birth_date="1985-03-14", today=TODAY)
    assert [(h.names[0], h.list_name, h.category) for h in hits] == [
        ("Lineo Mokoena", "wanted-persons", "wanted")
    ]
    assert hits[0].features["birth_date"] == "exact"
    assert "Sesotho orthography" in hits[0].explanation[0]
    assert screen(engine, "Thabo Mokoena", birth_date="1985-03-14", today=TODAY) == []


def test_the_index_is_rebuilt_when_a_list_changes(engine: Engine) -> None:
    load(engine, "name\nLineo Mokoena\n")
    first = current_index(engine)
    assert current_index(engine) is first  # unchanged lists: the same index
    assert screen(engine, "Palesa Mofokeng", today=TODAY) == []
    load(engine, "name\nPalesa Mofokeng\n")
    assert current_index(engine) is not first
    assert [h.names[0] for h in screen(engine, "Palesa Mofokeng", today=TODAY)] == [
        "Palesa Mofokeng"
    ]


def test_screening_with_an_actor_is_audited(engine: Engine) -> None:
    load(engine, "name\nLineo Mokoena\n")
    hits = screen(engine, "Lineo Mokoena", today=TODAY, actor="officer7")
    with session_factory(engine)() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "watchlist.screen")).one()
    assert event.actor == "officer7"
    assert event.detail == {"hits": [hits[0].entry_id]}


def test_bad_screening_input_is_refused(engine: Engine) -> None:
    with pytest.raises(ScreeningInputError, match="limit is 200"):
        screen(engine, "x" * 50_000_000, today=TODAY)
    with pytest.raises(ScreeningInputError, match="has no letters"):
        screen(engine, "", today=TODAY)
    with pytest.raises(ScreeningInputError, match="month 13"):
        screen(engine, "Thabo Mokoena", birth_date="1985-13-01", today=TODAY)


def test_document_alerts(engine: Engine) -> None:
    report = load(
        engine,
        "issuing_state,number,status,reported_on\nLSO,RA 999 111,stolen,2026-01-05\n"
        "XXX,1,lost,\nZAF,A1,misplaced,\nZA,A2,revoked,\n",
        kind=WatchlistKind.DOCUMENT,
        list_name="sltd",
        source="Interpol SLTD extract",
        confirm=True,
    )
    assert report.loaded == 2
    assert [e.line for e in report.errors] == [3, 4]
    (hit,) = check_document(engine, "LSO", "ra999111")
    assert (hit.status, hit.list_name, hit.reported_on) == ("stolen", "sltd", date(2026, 1, 5))
    assert check_document(engine, "zaf", "A2")[0].status == "revoked"
    assert check_document(engine, "LSO", "RA999112") == []
    with pytest.raises(ScreeningInputError, match="not a country"):
        check_document(engine, "QQ", "RA1")
    summary = {w.name: (w.kind, w.entries, w.source) for w in list_watchlists(engine)}
    assert summary == {"sltd": ("document", 2, "Interpol SLTD extract")}
