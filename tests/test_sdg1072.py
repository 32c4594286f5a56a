"""The SDG 10.7.2 self-assessment (issue 22, item 5), on SQLite and PostgreSQL: the NCC
secretariat answers the six domains' questions for a year with evidence links, analysts read
the answers and the scores; a refused assessment (a year out of range, an unknown question,
an answer a question does not allow, a bad link) says precisely why and keeps nothing.

Lesotho's node, its clock standing at 3 December 2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tsela.api.app import create_app
from tsela.config import Settings
from tsela.domain import sdg1072 as dom
from tsela.kernel.clock import FixedClock
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent, Role
from tsela.store.sdg import SdgAssessment
from web_support import csrf_of, use_fast_password_hashing

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
URL = "/v1/sdg-10-7-2"
LAW = "https://www.gov.ls/acts/immigration-act"
PASSWORD = "correct horse 1"

# -- the method, pure ------------------------------------------------------------------------


def all_(answer: str, **changes: str) -> dict[str, str]:
    return {code: changes.get(code, answer) for code in dom.method().questions}


def test_the_questionnaire_has_six_domains_of_five_questions() -> None:
    how = dom.method()
    assert [d.number for d in how.domains] == [1, 2, 3, 4, 5, 6]
    assert all(len(d.questions) == 5 for d in how.domains)
    assert len(how.questions) == 30
    # "partially" only where the method allows it: domain 1's equal-access questions.
    assert sorted(q.code for q in how.questions.values() if q.partial) == ["1a", "1b", "1c", "1d"]
    assert [c.key for c in how.categories] == [
        "requires_further_progress",
        "partially_meets",
        "meets",
        "fully_meets",
    ]


def test_a_domain_is_the_mean_of_its_answers_and_the_summary_the_mean_of_domains() -> None:
    # Domain 1: yes, yes, partially, no, yes = 3.5 / 5 = 70 % -> partially meets.
    answers = all_("yes", **{"1c": "partially", "1d": "no"})
    # Domain 6: one "no" = 80 % -> meets; domain 5: three "no" = 40 % -> partially meets.
    answers |= {"6a": "no", "5a": "no", "5b": "no", "5c": "no"}
    # Domain 4: all "no" = 0 % -> requires further progress.
    answers |= {f"4{x}": "no" for x in "abcde"}
    scores = dom.score(answers)
    got = {
        d.domain.number: (d.score, d.category.key if d.category else None) for d in scores.domains
    }
    assert got == {
        1: (70.0, "partially_meets"),
        2: (100.0, "fully_meets"),
        3: (100.0, "fully_meets"),
        4: (0.0, "requires_further_progress"),
        5: (40.0, "partially_meets"),
        6: (80.0, "meets"),
    }
    # (70 + 100 + 100 + 0 + 40 + 80) / 6 = 65 -> partially meets.
    assert scores.score == 65.0
    assert scores.category is not None and scores.category.code == 2


def test_an_unfinished_domain_has_no_score_and_the_summary_waits_for_all() -> None:
    answers = all_("yes")
    del answers["3e"]
    scores = dom.score(answers)
    third = scores.domains[2]
    assert (third.answered, third.score, third.category) == (4, None, None)
    assert scores.domains[0].score == 100.0
    assert (scores.score, scores.category, scores.complete) == (None, None, False)


def test_problems_name_each_refused_part() -> None:
    given = {
        "1a": dom.Answer("partially"),  # allowed
        "2a": dom.Answer("partially"),  # not allowed here
        "7a": dom.Answer("yes"),
        "3a": dom.Answer("maybe"),
        "4a": dom.Answer("yes", ("javascript:alert(1)",)),
    }
    found = dom.problems(2014, given, 2026)
    assert [(p.field, p.code) for p in found] == [
        ("year", "year_range"),
        ("2a", "answer_not_allowed"),
        ("7a", "unknown_question"),
        ("3a", "answer_not_allowed"),
        ("4a", "bad_link"),
    ]
    assert found[0].words() == "the year must be from 2015 to 2026, not 2014"
    assert found[1].words() == "question 2a is answered yes, no, not 'partially'"
    assert dom.problems(2027, {}, 2026)[0].code == "year_range"
    assert dom.problems(2026, {"1a": dom.Answer("yes", (LAW,))}, 2026) == []


# -- the API, both back ends -----------------------------------------------------------------


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(engine.url.render_as_string(hide_password=False), "LS", tmp_path)
    with TestClient(create_app(settings, engine, FixedClock(NOW))) as client:
        yield client


def body(answers: dict[str, str], evidence: dict[str, list[str]] | None = None) -> dict[str, Any]:
    evidence = evidence or {}
    return {
        "answers": {k: {"answer": v, "evidence": evidence.get(k, [])} for k, v in answers.items()}
    }


def stored(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(SdgAssessment)) or 0


def test_the_secretariat_saves_a_year_and_analysts_read_its_scores(
    api: TestClient,
    auth_headers,
    engine: Engine,  # type: ignore[no-untyped-def]
) -> None:
    secretariat = auth_headers(Role.SECRETARIAT)
    analyst = auth_headers(Role.ANALYST)
    assert api.get(f"{URL}/2026", headers=analyst).status_code == 404

    answers = all_("yes", **{"1c": "partially", "1d": "no"})
    saved = api.put(f"{URL}/2026", json=body(answers, {"1a": [LAW]}), headers=secretariat)
    assert saved.status_code == 200, saved.text

    read = api.get(f"{URL}/2026", headers=analyst).json()
    assert read["country"] == "LSO" and read["year"] == 2026
    assert read["answers"]["1a"] == {"answer": "yes", "evidence": [LAW]}
    assert read["domains"][0]["score"] == 70.0 and read["domains"][0]["category"] == 2
    assert read["score"] == 95.0 and read["category_key"] == "meets"
    assert read["updated_by"] and read["updated_at"].startswith("2026-12-03T09:00")

    # Saving the year again replaces its answers: still one assessment for the year.
    again = api.put(f"{URL}/2026", json=body(all_("yes")), headers=secretariat).json()
    assert again["score"] == 100.0 and again["category_key"] == "fully_meets"
    assert stored(engine) == 1
    listed = api.get(URL, headers=analyst).json()
    assert [a["year"] for a in listed] == [2026]
    with session_factory(engine)() as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "sdg1072.save")
            .order_by(AuditEvent.id)  # UUIDv7: the order they were written
        ).all()
        assert len(events) == 2
        assert events[1].detail["changed"] == ["1a", "1c", "1d"]


def test_analysts_read_but_do_not_edit(api: TestClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    analyst = auth_headers(Role.ANALYST)
    assert api.put(f"{URL}/2026", json=body({"1a": "yes"}), headers=analyst).status_code == 403
    assert (
        api.get(f"{URL}/questionnaire", headers=analyst).json()["domains"][5]["questions"][4][
            "code"
        ]
        == "6e"
    )
    officer = auth_headers(Role.BORDER_OFFICER, port="MSU")
    assert api.get(f"{URL}/questionnaire", headers=officer).status_code == 403


@pytest.mark.parametrize(
    ("year", "answers", "evidence", "words"),
    [
        (2014, {"1a": "yes"}, {}, "the year must be from 2015 to 2026, not 2014"),
        (2027, {"1a": "yes"}, {}, "the year must be from 2015 to 2026, not 2027"),
        (2026, {"9z": "yes"}, {}, "there is no question '9z' (1a to 6e)"),
        (2026, {"2a": "partially"}, {}, "question 2a is answered yes, no, not 'partially'"),
        (2026, {"1a": "maybe"}, {}, "question 1a is answered yes, partially, no, not 'maybe'"),
        (2026, {"1a": "yes"}, {"1a": ["ftp://x.org/a"]}, "evidence must be an http(s) address"),
    ],
)
def test_bad_input_is_refused_precisely_and_nothing_is_kept(
    api: TestClient,
    auth_headers,  # type: ignore[no-untyped-def]
    engine: Engine,
    year: int,
    answers: dict[str, str],
    evidence: dict[str, list[str]],
    words: str,
) -> None:
    secretariat = auth_headers(Role.SECRETARIAT)
    # A good answer beside the bad one is not kept either.
    answer = api.put(
        f"{URL}/{year}", json=body({"3a": "yes", **answers}, evidence), headers=secretariat
    )
    assert answer.status_code == 422
    assert words in answer.json()["detail"]
    assert stored(engine) == 0


def test_a_year_that_is_not_a_number_is_refused(api: TestClient, auth_headers, engine) -> None:  # type: ignore[no-untyped-def]
    # A year is digits: anything else names no assessment (and PUT on the questionnaire is
    # a method it does not have, not an attempt to save a year called "questionnaire").
    secretariat = auth_headers(Role.SECRETARIAT)
    answer = api.put(f"{URL}/twenty", json=body({"1a": "yes"}), headers=secretariat)
    assert answer.status_code == 404
    assert api.put(f"{URL}/questionnaire", json={}, headers=secretariat).status_code == 405
    assert stored(engine) == 0


# -- the page ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


def signed_in(app_client: TestClient, make_user, role: Role, name: str) -> TestClient:  # type: ignore[no-untyped-def]
    make_user(role, username=name, password=PASSWORD)
    page = app_client.get("/login")
    app_client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    return app_client


def test_the_secretariat_fills_the_form_and_sees_a_bar_per_domain(
    api: TestClient,
    make_user,
    engine: Engine,  # type: ignore[no-untyped-def]
) -> None:
    client = signed_in(api, make_user, Role.SECRETARIAT, "mpho")
    page = client.get("/observatory/sdg-10-7-2")
    assert page.status_code == 200 and "<title>SDG 10.7.2 self-assessment ·" in page.text
    assert 'name="answer-1a" value="partially"' in page.text
    assert 'name="answer-2a" value="partially"' not in page.text
    form = {f"answer-{code}": "yes" for code in dom.method().questions}
    form |= {"answer-4a": "no", "evidence-4a": f"{LAW}\n", "year": "2026"}
    done = client.post(
        "/observatory/sdg-10-7-2",
        data={**form, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"])
    assert "The assessment was saved." in shown.text
    assert shown.text.count("<meter") == 7  # six domains and the summary
    assert 'value="80.0"' in shown.text  # domain 4
    assert f">{LAW}</textarea>" in shown.text
    sesotho = client.get("/observatory/sdg-10-7-2?year=2026&lang=st")
    assert "Litokelo tsa bajaki" in sesotho.text and "E fihlela ka botlalo" in sesotho.text


def test_a_refused_form_keeps_nothing_and_shows_what_was_typed(
    api: TestClient,
    make_user,
    engine: Engine,  # type: ignore[no-untyped-def]
) -> None:
    client = signed_in(api, make_user, Role.SECRETARIAT, "mpho")
    page = client.get("/observatory/sdg-10-7-2?year=2025")
    refused = client.post(
        "/observatory/sdg-10-7-2",
        data={
            "year": "2025",
            "answer-1a": "yes",
            "answer-2a": "partially",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert refused.status_code == 422
    assert "question 2a is answered yes, no, not &#39;partially&#39;" in refused.text
    assert 'name="answer-1a" value="yes" checked' in refused.text
    assert stored(engine) == 0


def test_analysts_see_the_answers_without_a_form(
    api: TestClient,
    make_user,
    auth_headers,  # type: ignore[no-untyped-def]
) -> None:
    api.put(f"{URL}/2026", json=body({"1a": "yes"}, {"1a": [LAW]}),
            headers=auth_headers(Role.SECRETARIAT))  # fmt: skip
    client = signed_in(api, make_user, Role.ANALYST, "lineo")
    page = client.get("/observatory/sdg-10-7-2?year=2026")
    assert page.status_code == 200
    assert 'id="sdg-form"' not in page.text and f'href="{LAW}"' in page.text
    assert "Not all questions answered" in page.text
    assert client.get("/observatory/sdg-10-7-2?year=20x6").status_code == 422
    token = csrf_of(page.text)
    refused = client.post("/observatory/sdg-10-7-2", data={"year": "2026", "csrf_token": token})
    assert refused.status_code == 403
