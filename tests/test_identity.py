"""One person, one identity (issue 17): the folded features, the model's levels, clusters that
honour people's decisions, and batch resolution with Splink on DuckDB over records stored in
SQLite and PostgreSQL — injected duplicates found, decisions kept across runs, bad input
refused with nothing changed and the refusal audited."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import Engine, select

from tsela.domain.identity import (
    COMPARISONS,
    Link,
    Parameters,
    PersonRecord,
    assign_ids,
    blocking_keys,
    cluster,
    features,
    fold_document,
    fold_name,
    probability_of,
    score_many,
    score_pair,
)
from tsela.domain.values import Decision, Direction, Role
from tsela.kernel.actor import Actor
from tsela.kernel.errors import Conflict, Forbidden, Invalid, TselaError
from tsela.services import audit, identity
from tsela.store.checks import BorderCheck
from tsela.store.db import session_factory, transaction
from tsela.store.identity import IdentityPair, IdentityRecord
from tsela.store.models import AuditEvent, PortOfEntry
from tsela.synth.identities import population, write

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
ADMIN = Actor("admin1", Role.ADMIN, "LS")
SUPERVISOR = Actor("super1", Role.SUPERVISOR, "LS", user_id=uuid.UUID(int=7))
OFFICER = Actor("officer1", Role.BORDER_OFFICER, "LS")


def rec(
    key: str, surname: str, given: str, born: date | None, doc: str | None, **kw: object
) -> PersonRecord:
    return PersonRecord(
        key, "person", "LS", surname, given, born, kw.get("sex", "F"), "LSO", doc, "LSO"
    )  # type: ignore[arg-type]


# -- pure -------------------------------------------------------------------------------------


def test_both_orthographies_and_the_mrz_fold_to_one_name() -> None:
    assert fold_name("Tšepo Moshoeshoe") == fold_name("Tshepo Moshweshwe")
    # The MRZ writes Š as S and drops apostrophes: not one key, but a "close" name.
    lesotho = features(rec("person:a", "Mokoena", "'Matšeliso", date(1990, 3, 4), None))
    mrz = features(rec("person:b", "MOKOENA", "MATSELISO", date(1990, 3, 4), None))
    levels = {c.field: c.level for c in score_pair(_params(), lesotho, mrz).contributions}
    assert levels["given_name"] == "close" and levels["surname"] == "exact"
    assert fold_name("Mohapi-Lebona") == "mohapi lebona"


def test_document_numbers_read_through_ocr_confusions() -> None:
    assert fold_document("RA1O23I56") == fold_document("ra 102-3156")
    assert fold_document("") is None and fold_document(None) is None


def test_blocking_keys_need_every_column_of_a_rule() -> None:
    row = features(rec("person:a", "Mohapi", "Mpho", None, None))
    keys = blocking_keys(row)
    assert keys and all("|" in k for k in keys)
    assert not any("None" in k for k in keys)
    # Without a birth date only the name rule applies.
    assert keys == [k for k in keys if k.startswith("2|")]


def _params(**m_u: tuple[tuple[float, ...], tuple[float, ...]]) -> Parameters:
    m, u = [], []
    for comp in COMPARISONS:
        n = len(comp.levels)
        pm, pu = m_u.get(
            comp.field, ((0.9,) + (0.1 / (n - 2),) * (n - 2), (0.01,) + (0.99 / (n - 2),) * (n - 2))
        )
        m.append((None, *pm))
        u.append((None, *pu))
    return Parameters("test", 1e-4, tuple(m), tuple(u))


def test_the_scorer_names_the_level_of_each_field() -> None:
    params = _params()
    a = features(rec("person:a", "Mohapi", "Mpho", date(1990, 3, 4), "RA1234567"))
    swapped = features(rec("person:b", "Mohapi", "Mpho", date(1990, 4, 3), "RA1234567"))
    reversed_names = features(rec("person:c", "Mpho", "Mohapi", date(1990, 3, 4), None))
    levels = {c.field: c.level for c in score_pair(params, a, swapped).contributions}
    assert levels["birth_date"] == "swapped" and levels["surname"] == "exact"
    assert levels["document"] == "exact"
    levels = {c.field: c.level for c in score_pair(params, a, reversed_names).contributions}
    assert levels["surname"] == "reversed" and levels["document"] == "missing"
    same = score_pair(params, a, a)
    other = score_pair(
        params, a, features(rec("person:d", "Zulu", "Sipho", date(1970, 1, 9), "A9"))
    )
    assert same.probability > 0.99 > 0.01 > other.probability


def test_scoring_many_candidates_at_once_gives_the_pairwise_scores() -> None:
    # Every level its own weight, so a level told apart wrongly shows.
    rng = random.Random(5)
    m = tuple(
        tuple(None if i == 0 else rng.uniform(0.01, 0.9) for i in range(len(c.levels)))
        for c in COMPARISONS
    )
    u = tuple(
        tuple(None if i == 0 else rng.uniform(0.001, 0.9) for i in range(len(c.levels)))
        for c in COMPARISONS
    )
    params = Parameters("many-1", 1e-4, m, u)
    rows = [features(p.record) for p in population(300, dup_share=0.5, seed=11)]
    # The rare levels: names reversed, birth day and month swapped, missing values.
    rows.append(features(rec("person:r", "Palesa", "Mohapi", date(1990, 4, 3), None)))
    rows.append(features(rec("person:s", "Mohapi", "Palesa", date(1990, 3, 4), "RA1234567")))
    rows.append(features(rec("person:n", "Mohapi", "", None, None)))
    for left in rows[::7] + rows[-3:]:
        many = score_many(params, left, rows)
        assert [probability_of(w) for w in many] == [
            score_pair(params, left, r).probability for r in rows
        ]
        assert [round(w, 3) for w in many] == [score_pair(params, left, r).weight for r in rows]
    assert score_many(params, rows[0], []) == []


def test_a_rejected_pair_is_never_joined_by_the_models_links() -> None:
    links = [Link("a", "b", 0.999), Link("b", "c", 0.998), Link("c", "d", 0.9999)]
    got = cluster("abcd", links, rejected=[("a", "c")])
    # c-d is the strongest; then a-b; b-c would put a and c together: skipped.
    assert got["c"] == got["d"] and got["a"] == got["b"] and got["a"] != got["c"]
    # A person's link wins over a rejection.
    got = cluster("abc", [Link("a", "b", 0.99), Link("b", "c", 0.0, manual=True)], [("a", "c")])
    assert got["b"] == got["c"] and got["a"] != got["b"]


def test_identity_ids_stay_with_the_larger_part_of_a_split() -> None:
    i1 = uuid.UUID(int=1)
    fresh = iter([uuid.UUID(int=9)])
    ids = assign_ids(
        {"a": "a", "b": "a", "c": "c"}, {"a": i1, "b": i1, "c": i1}, lambda: next(fresh)
    )
    assert ids["a"] == ids["b"] == i1 and ids["c"] == uuid.UUID(int=9)


# -- batch resolution over the store, on both back ends ----------------------------------------


@pytest.fixture
def stored(engine: Engine) -> tuple[Engine, dict[str, str], list]:  # type: ignore[type-arg]
    people = list(population(1200, dup_share=0.12, seed=3))
    with transaction(session_factory(engine)) as s:
        keys = write(s, people, NOW)
    return engine, keys, people


def _resolve(engine: Engine, **kw: object) -> identity.ResolveReport:
    with transaction(session_factory(engine)) as s:
        return identity.resolve(s, ADMIN, **kw)  # type: ignore[arg-type]


def _identity(engine: Engine) -> dict[str, uuid.UUID]:
    with session_factory(engine)() as s:
        rows = s.execute(select(IdentityRecord.record_key, IdentityRecord.identity_id))
        return {k: v for k, v in rows}


@pytest.mark.slow
def test_resolution_finds_the_injected_duplicates_and_audits_every_automatic_link(stored) -> None:  # type: ignore[no-untyped-def]
    engine, keys, people = stored
    with time_machine.travel(NOW, tick=False):
        report = _resolve(engine, train=True)
    assert report.records == len(people) and report.trained
    ident = _identity(engine)
    truth = {keys[p.record.key]: p.truth for p in people}
    dups = [p for p in people if p.kind != "original"]
    # Recall over the injected duplicates: linked, or waiting in the review queue.
    with session_factory(engine)() as s:
        pending = {
            (p.left_key, p.right_key)
            for p in s.scalars(select(IdentityPair).where(IdentityPair.status == "pending"))
        }
        autos = s.scalars(select(IdentityPair).where(IdentityPair.status == "auto")).all()
        audited = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "identity.auto_linked")
        ).all()
    found = 0
    for d in dups:
        k, orig = (
            keys[d.record.key],
            next(v for v, t in truth.items() if t == d.truth and v != keys[d.record.key]),
        )
        if ident[k] == ident[orig] or tuple(sorted((k, orig))) in pending:
            found += 1
    assert found / len(dups) >= 0.95, f"found {found} of {len(dups)}"
    # No two different people were linked automatically.
    assert all(truth[p.left_key] == truth[p.right_key] for p in autos)
    # A South African spelling on the partner's record joined the Lesotho record.
    sa = next(
        d for d in dups if d.kind == "sa_spelling" and d.record.surname != people[0].record.surname
    )
    assert ident[keys[sa.record.key]] == ident[f"person:{_pid(keys, people, sa.truth)}"]
    assert len(audited) == len(autos) == report.auto_linked > 0


def _pid(keys: dict[str, str], people: list, truth: int) -> str:  # type: ignore[type-arg]
    orig = next(p for p in people if p.truth == truth and p.kind == "original")
    return keys[orig.record.key].split(":", 1)[1]


@pytest.mark.slow
def test_decisions_hold_across_runs_and_bad_requests_change_nothing(stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = stored[0]
    with time_machine.travel(NOW, tick=False):
        _resolve(engine, train=True)
        factory = session_factory(engine)
        with factory() as s:
            page = identity.queue(s, SUPERVISOR, status="pending")
            auto = identity.queue(s, SUPERVISOR, status="auto")
        assert page.total > 0 and auto.total > 0
        doubtful, sure = page.items[0], auto.items[0]
        assert doubtful.left.identity_id != doubtful.right.identity_id
        assert {c["field"] for c in doubtful.contributions} == {c.field for c in COMPARISONS}

        # Reject the doubtful pair; unlink one record of a sure pair.
        with transaction(factory) as s:
            identity.decide(s, SUPERVISOR, doubtful.id, "reject", "different mothers' names")
        with transaction(factory) as s:
            view = identity.unlink(s, SUPERVISOR, sure.right.record_key, "two brothers")
        assert [m.record_key for m in view.members] == [sure.right.record_key]

        # A second run with the stored model keeps both decisions.
        report = _resolve(engine)
        assert not report.trained
        ident = _identity(engine)
        assert ident[sure.left.record_key] != ident[sure.right.record_key]
        with factory() as s:
            statuses = {
                (p.left_key, p.right_key): p.status for p in s.scalars(select(IdentityPair))
            }
        assert statuses[(doubtful.left.record_key, doubtful.right.record_key)] == "rejected"
        assert statuses[(sure.left.record_key, sure.right.record_key)] == "rejected"

        # Link them again by hand: one identity; linking again would be a cycle.
        with transaction(factory) as s:
            identity.link(s, SUPERVISOR, sure.left.record_key, sure.right.record_key, "checked")
        assert (
            len(set(_identity(engine)[k] for k in (sure.left.record_key, sure.right.record_key)))
            == 1
        )
        before = _identity(engine)
        bad: list[tuple[type[TselaError], object]] = [
            (
                Conflict,
                lambda s: identity.link(s, SUPERVISOR, sure.left.record_key, sure.right.record_key),
            ),
            (
                Invalid,
                lambda s: identity.link(s, SUPERVISOR, sure.left.record_key, sure.left.record_key),
            ),
            (Forbidden, lambda s: identity.unlink(s, OFFICER, sure.left.record_key)),
            (Forbidden, lambda s: identity.decide(s, ADMIN, doubtful.id, "link")),
            (Invalid, lambda s: identity.decide(s, SUPERVISOR, doubtful.id, "merge")),
        ]
        for kind, work in bad:
            with pytest.raises(kind), transaction(factory) as s:
                work(s)  # type: ignore[operator]
        assert _identity(engine) == before

        # A refused role is audited (as the edges do: after the rollback).
        with pytest.raises(Forbidden) as refused, transaction(factory) as s:
            identity.unlink(s, OFFICER, sure.left.record_key)
        with transaction(factory) as s:
            audit.record_refusal(s, refused.value, actor=OFFICER.username, node="LS")
        with factory() as s:
            assert s.scalars(
                select(AuditEvent).where(AuditEvent.action == "identity.decide_refused")
            ).first()

        # A model file from another format is refused before anything is read.
        model_file = tmp_path / "model.json"
        with factory() as s:
            stored_model = identity.active_model(s)
            assert stored_model is not None
            model = dict(stored_model.model)
        model["tsela_identity_format"] = 0
        model_file.write_text(json.dumps(model))
        with pytest.raises(Invalid, match="format 0"):
            _resolve(engine, model_file=model_file)
        assert _identity(engine) == before


@pytest.mark.slow
def test_unlinking_waits_for_a_check_still_running_on_the_person(stored) -> None:  # type: ignore[no-untyped-def]
    engine = stored[0]
    factory = session_factory(engine)
    with time_machine.travel(NOW, tick=False):
        _resolve(engine, train=True)
        with factory() as s:
            sure = next(
                p
                for p in identity.queue(s, SUPERVISOR, status="auto", per_page=100).items
                if p.right.person_id
            )
            port = s.scalars(select(PortOfEntry).limit(1)).one()
        with transaction(factory) as s:
            s.add(
                BorderCheck(
                    node="LS", port_id=port.id, person_id=sure.right.person_id,
                    direction=Direction.ENTRY, country="LSO", checked_at=NOW - timedelta(minutes=3),
                    decision=Decision.CLEAR,
                )
            )  # fmt: skip
        with pytest.raises(Conflict, match="still open"), transaction(factory) as s:
            identity.unlink(s, SUPERVISOR, sure.left.record_key)
    # Twenty minutes later the check is taken as abandoned: unlinking goes ahead.
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False), transaction(factory) as s:
        identity.unlink(s, SUPERVISOR, sure.left.record_key)


def test_training_on_records_with_no_duplicates_says_why_and_keeps_nothing(engine: Engine) -> None:
    """A register where every record is a different person gives EM nothing to learn from:
    a clear refusal naming the way out, no model and no identity stored."""
    people = [p for p in population(300, dup_share=0.0, seed=11)]
    with transaction(session_factory(engine)) as s:
        write(s, people, NOW)
    with time_machine.travel(NOW, tick=False), pytest.raises(Invalid) as refused:
        _resolve(engine, train=True)
    assert refused.value.code == "identity.training_failed"
    assert "--model" in refused.value.message
    assert _identity(engine) == {}
