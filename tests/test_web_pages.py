"""The web pages' plumbing: signing in and out, session expiry, CSRF on every form, cookie
flags, roles, languages, security headers, and no personal data in URLs."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from factories import add_traveller
from tsela.api.app import create_app
from tsela.config import Settings
from tsela.kernel import clock
from tsela.store.auth import WebSession
from tsela.store.db import session_factory
from tsela.store.models import AuditEvent, Role
from web_support import add_employer, csrf_of, use_fast_password_hashing

PASSWORD = "correct horse 1"
# Pages whose storage is covered elsewhere run on SQLite only (the engine fixture's param).
SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_password_hashing(monkeypatch)


@pytest.fixture
def settings_tmp(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        node="LS",
        var_dir=tmp_path,
    )


@pytest.fixture
def web(settings_tmp: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings_tmp, engine)) as client:
        yield client


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next: str = ""):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": next,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )


# --- signing in and out ---------------------------------------------------------------------


def test_a_stranger_is_sent_to_sign_in_and_comes_back_to_the_page(web, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.PERMIT_OFFICER, username="palesa")
    first = web.get("/desk", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/desk"
    signed = sign_in(web, "palesa", next="/desk")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/desk"
    desk = web.get("/desk")
    assert desk.status_code == 200
    assert "<h1>Permit desk</h1>" in desk.text


@SQLITE_ONLY
def test_each_role_lands_on_its_own_page(web, make_user) -> None:  # type: ignore[no-untyped-def]
    expected = {
        Role.BORDER_OFFICER: "/console",
        Role.SUPERVISOR: "/review",
        Role.PERMIT_OFFICER: "/desk",
        Role.WORKER: "/me",
        Role.EMPLOYER: "/employer",
    }
    for role, home in expected.items():
        make_user(role, username=f"u-{role.value}")
        client = TestClient(web.app)
        assert sign_in(client, f"u-{role.value}").headers["location"] == home
        assert client.get(home).status_code in (200, 409), role  # 409: account not linked yet


def test_a_wrong_password_is_refused_and_gives_no_session(web, make_user, engine) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.SUPERVISOR, username="thabo")
    bad = sign_in(web, "thabo", "not the password")
    assert bad.status_code == 401
    assert "Wrong username or password." in bad.text
    assert "tsela_session" not in bad.headers.get("set-cookie", "")
    assert web.get("/review", follow_redirects=False).status_code == 303
    with session_factory(engine)() as s:
        actions = list(s.scalars(select(AuditEvent.action)))
    assert "login.failed" in actions


def test_the_login_form_locks_after_repeated_failures(web, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.SUPERVISOR, username="thabo")
    codes = [sign_in(web, "thabo", f"guess {i}").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    assert "Too many failed sign-ins" in sign_in(web, "thabo").text


def test_sign_out_ends_the_session_on_the_server(web, make_user, engine) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.PERMIT_OFFICER, username="palesa")
    sign_in(web, "palesa")
    cookie = web.cookies.get("tsela_session")
    desk = web.get("/desk")
    out = web.post("/logout", data={"csrf_token": csrf_of(desk.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login?bye=1"
    # Replaying the old cookie does not work: the session ended in the database.
    replay = TestClient(web.app, cookies={"tsela_session": cookie})
    assert replay.get("/desk", follow_redirects=False).status_code == 303
    with session_factory(engine)() as s:
        assert s.scalar(select(WebSession.ended_at)) is not None


def test_an_idle_session_expires_with_a_message(web, make_user, engine) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.PERMIT_OFFICER, username="palesa")
    sign_in(web, "palesa")
    with session_factory(engine)() as s:
        s.execute(update(WebSession).values(last_seen_at=clock.now() - timedelta(minutes=31)))
        s.commit()
    gone = web.get("/desk", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/login?next=/desk&expired=1"
    page = web.get(gone.headers["location"])
    assert "Your session has expired. Please sign in again." in page.text


def test_a_page_of_another_role_is_refused_with_403(web, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.WORKER, username="lineo")
    sign_in(web, "lineo")
    refused = web.get("/desk")
    assert refused.status_code == 403
    assert "Your role may not open this page." in refused.text


# --- CSRF and cookies -----------------------------------------------------------------------


def test_forms_without_the_csrf_token_are_refused(web, make_user, engine) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.PERMIT_OFFICER, username="palesa")
    # Sign-in form: the double-submit cookie must match the hidden field.
    web.get("/login")
    forged = web.post(
        "/login", data={"username": "palesa", "password": PASSWORD, "csrf_token": "x" * 43}
    )
    assert forged.status_code == 403
    assert "did not come from Tsela" in forged.text
    missing = web.post("/login", data={"username": "palesa", "password": PASSWORD})
    assert missing.status_code == 403
    # A signed-in user's forms carry the session's token; without it nothing happens.
    sign_in(web, "palesa")
    refused = web.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert web.get("/desk").status_code == 200  # still signed in
    with session_factory(engine)() as s:
        assert s.scalar(select(WebSession.ended_at)) is None


@SQLITE_ONLY
def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(
    settings_tmp, engine, make_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.PERMIT_OFFICER, username="palesa")
    app = create_app(settings_tmp, engine)
    plain = sign_in(TestClient(app), "palesa").headers["set-cookie"]
    assert "tsela_session=" in plain
    assert "HttpOnly" in plain
    assert "SameSite=lax" in plain
    assert "Secure" not in plain  # the demo serves plain http on localhost
    https = sign_in(TestClient(app, base_url="https://tsela.example"), "palesa")
    assert "Secure" in https.headers["set-cookie"]
    monkeypatch.setenv("TSELA_COOKIE_SECURE", "1")  # behind a TLS proxy
    forced = sign_in(TestClient(app), "palesa").headers["set-cookie"]
    assert "Secure" in forced


@SQLITE_ONLY
def test_pages_send_security_headers(web) -> None:  # type: ignore[no-untyped-def]
    page = web.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert web.get("/static/tsela.css").status_code == 200


# --- every form, and what URLs carry --------------------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self._current: dict[str, object] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._current = {"method": (a.get("method") or "get").lower(), "fields": {}}
            self.forms.append(self._current)
        elif tag in ("input", "textarea", "select", "button") and self._current and a.get("name"):
            self._current["fields"][a["name"]] = a.get("value") or ""  # type: ignore[index]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


# Fields a GET form may carry (they end up in URLs and logs): codes, dates, flags, staff
# usernames (the review filter by officer); never a traveller's data.
GET_FIELDS = {"type", "port", "day", "reviewed", "decision", "officer"}


def _forms(html: str) -> list[dict[str, object]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@SQLITE_ONLY
def test_every_form_posts_with_a_csrf_token_or_carries_only_codes(web, make_user, engine) -> None:  # type: ignore[no-untyped-def]
    person = add_traveller(engine)[0].id
    employer = add_employer(engine)
    pages = {
        Role.BORDER_OFFICER: ["/console", "/console/search"],
        Role.SUPERVISOR: ["/review", "/console"],
        Role.PERMIT_OFFICER: ["/desk"],
        Role.WORKER: ["/me", "/me/apply", "/me/apply?type=STUDY"],
        Role.EMPLOYER: ["/employer", "/employer/workers/new?type=SEASONAL", "/employer/verify"],
    }
    seen = 0
    for role, paths in pages.items():
        links = {"person_id": person} if role is Role.WORKER else {}
        if role is Role.EMPLOYER:
            links = {"employer_id": employer}
        make_user(role, username=f"f-{role.value}", **links)
        client = TestClient(web.app)
        sign_in(client, f"f-{role.value}")
        for path in [*paths, "/verify"]:
            page = client.get(path)
            assert page.status_code == 200, path
            for form in _forms(page.text):
                fields = form["fields"]
                if form["method"] == "post":
                    assert fields.get("csrf_token"), f"a form on {path} has no CSRF token"  # type: ignore[union-attr]
                else:
                    assert set(fields) <= GET_FIELDS, f"GET form on {path} sends {set(fields)}"  # type: ignore[arg-type]
                seen += 1
    assert seen >= 12


def test_no_name_or_document_number_travels_in_a_url(web, make_user, engine) -> None:  # type: ignore[no-untyped-def]
    """A worker applies; every URL and redirect of the flow carries ids and codes only."""
    person = add_traveller(engine, surname="NTHATISI", given="MPHO", number="RB7654321")[0].id
    make_user(Role.WORKER, username="mpho", person_id=person)
    urls: list[str] = []
    web.event_hooks["request"] = [lambda request: urls.append(str(request.url))]
    sign_in(web, "mpho")
    form = web.get("/me/apply?type=STUDY")
    done = web.post(
        "/me/apply",
        data={
            "csrf_token": csrf_of(form.text),
            "type_code": "STUDY",
            "country": "ZAF",
            "ev_passport": "RB7654321",
            "ev_institution_registration": "NUL-2026-0042",
            "ev_proof_of_funds": "bank letter",
        },
    )
    assert done.status_code == 200
    assert "Your application has been sent." in done.text
    assert len(urls) >= 5
    for url in urls:
        for secret in ("NTHATISI", "MPHO", "RB7654321", "nthatisi", "mpho@"):
            assert secret not in url, url
    assert re.search(r"/me/permits/[0-9a-f-]{36}\?done=applied$", urls[-1])


# --- languages ------------------------------------------------------------------------------


@SQLITE_ONLY
def test_language_from_the_switch_the_cookie_and_the_browser(web) -> None:  # type: ignore[no-untyped-def]
    english = web.get("/login")
    assert english.headers["content-language"] == "en"
    assert '<html lang="en">' in english.text
    assert "<h1>Sign in</h1>" in english.text
    sesotho = web.get("/login?lang=st")
    assert '<html lang="st">' in sesotho.text
    assert "<h1>Kena</h1>" in sesotho.text
    assert "tsela_lang=st" in sesotho.headers["set-cookie"]
    # The cookie remembers the choice.
    assert "Netefatsa tumello" in web.get("/verify").text
    # A new browser that prefers Sesotho gets Sesotho.
    fresh = TestClient(web.app)
    page = fresh.get("/login", headers={"Accept-Language": "st-LS, en;q=0.5"})
    assert page.headers["content-language"] == "st"
    other = fresh.get("/login", headers={"Accept-Language": "fr, en;q=0.3"})
    assert other.headers["content-language"] == "en"


def _template_messages() -> set[str]:
    root = resources.files("tsela.web")
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "N_": None}
    found = extract_from_dir(str(root), method_map, options_map=options, keywords=keywords)
    out: set[str] = set()
    for _file, _line, message, _comments, _context in found:
        out.update([message] if isinstance(message, str) else [m for m in message if m])
    return out


def test_every_message_of_the_pages_has_a_sesotho_translation() -> None:
    messages = _template_messages()
    assert len(messages) > 200  # the extractor really read the templates
    path = resources.files("tsela.web") / "locale" / "st" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    missing = sorted(
        m
        for m in messages
        if not (catalog.get(m) and catalog.get(m).string and not catalog.get(m).fuzzy)
    )
    assert not missing, f"{len(missing)} messages have no Sesotho translation: {missing[:10]}"
    # Placeholders survive translation.
    for m in messages:
        for name in re.findall(r"%\((\w+)\)s", m):
            assert f"%({name})s" in catalog.get(m).string, m


def _codes_raised(paths: list[Path]) -> dict[str, str]:
    """The refusal codes written out where a refusal is raised (``Invalid("code", ...)``, or
    a permit error's code argument), each with one place that raises it."""
    kinds = {"Invalid", "NotFound", "Forbidden", "Conflict", "Unavailable"}
    coded = {"PermitRuleError", "PermitError", "IllegalTransition"}
    out: dict[str, str] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            at = 0 if node.func.id in kinds else 1 if node.func.id in coded else None
            if at is None or len(node.args) < 2 or not isinstance(node.args[at], ast.Constant):
                continue
            code = node.args[at].value  # type: ignore[attr-defined]
            if isinstance(code, str):
                out.setdefault(code, f"{path.name}:{node.lineno}")
    return out


def test_the_permit_refusals_a_page_can_show_are_said_in_the_readers_language() -> None:
    """Server-side messages: every refusal code the permit services and rules raise (the
    worker's, the employer's and the permit desk's pages show them) has words in the pages'
    catalogue (tsela.web.errors.MESSAGES), which the test above holds to a Sesotho
    translation; a code without them would reach a Sesotho page in the service's English."""
    from tsela.web.errors import MESSAGES

    src = Path(resources.files("tsela"))  # type: ignore[arg-type]
    paths = [*sorted((src / "services" / "permits").glob("*.py")), src / "domain" / "permits.py"]
    raised = _codes_raised(paths)
    assert "permit.evidence_missing" in raised  # the scan really found them
    unsaid = {code: where for code, where in raised.items() if code not in MESSAGES}
    assert not unsaid, f"refusal codes with no words for the pages: {unsaid}"
    # And the words name only values the refusal carries (or the words the pages add).
    for code in raised:
        for name in re.findall(r"%\((\w+)\)s", MESSAGES[code]):
            assert name in {"missing", "type_name"} or name in _values_named(paths, code), code


def _values_named(paths: list[Path], code: str) -> set[str]:
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and any(
                isinstance(a, ast.Constant) and a.value == code for a in node.args
            ):
                names.update(k.arg for k in node.keywords if k.arg)
    return names


@pytest.mark.parametrize("catalog", ["messages.pot", "en/LC_MESSAGES/messages.po",
                                     "st/LC_MESSAGES/messages.po"])  # fmt: skip
def test_every_catalog_reads_without_a_fault(catalog: str) -> None:
    """Babel reads a damaged entry with a warning on standard output, which then ends up in
    the output of every command that translates (a JSON answer among them)."""
    path = resources.files("tsela.web") / "locale" / catalog
    with path.open("rb") as fh:
        read_po(fh, abort_invalid=True)


# --- accessibility --------------------------------------------------------------------------


class _Controls(HTMLParser):
    """Form controls, the labels pointing at ids, and the page's headings."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: list[str] = []
        self.h1 = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])  # type: ignore[arg-type]
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])  # type: ignore[arg-type]
        if tag == "h1":
            self.h1 += 1
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)


@SQLITE_ONLY
def test_every_control_has_a_label_and_every_page_one_heading(web, make_user, engine) -> None:  # type: ignore[no-untyped-def]
    person = add_traveller(engine)[0].id
    employer = add_employer(engine)
    pages = {
        None: ["/login", "/verify"],
        Role.BORDER_OFFICER: ["/console", "/console/search"],
        Role.SUPERVISOR: ["/review", "/console"],
        Role.PERMIT_OFFICER: ["/desk"],
        Role.WORKER: ["/me", "/me/apply", "/me/apply?type=STUDY", "/me/apply?type=SEASONAL"],
        Role.EMPLOYER: ["/employer/workers/new?type=SEASONAL", "/employer/verify"],
    }
    checked = 0
    for role, paths in pages.items():
        client = TestClient(web.app)
        if role is not None:
            links = {"person_id": person} if role is Role.WORKER else {}
            if role is Role.EMPLOYER:
                links = {"employer_id": employer}
            make_user(role, username=f"a-{role.value}", **links)
            sign_in(client, f"a-{role.value}")
        for path in paths:
            for lang in ("en", "st"):
                parser = _Controls()
                parser.feed(client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}").text)
                assert parser.h1 == 1, f"{path}: {parser.h1} h1 headings"
                assert len(parser.ids) == len(set(parser.ids)), f"{path}: duplicate ids"
                for control in parser.controls:
                    named = control.get("aria-label") or control.get("id") in parser.label_for
                    assert named, f"{path} ({lang}): a control has no label: {control}"
                    checked += 1
    assert checked > 40


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_text_colours_meet_wcag_aa_contrast() -> None:
    css = (resources.files("tsela.web") / "static" / "tsela.css").read_text("utf-8")
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    pairs = [  # (text, background) as the stylesheet uses them
        ("ink", "paper"), ("muted", "paper"), ("link", "paper"), ("brand-ink", "brand"),
        ("brand", "paper"), ("brand", "wash"), ("muted", "wash"), ("ink", "wash"),
        ("ok", "ok-wash"), ("warn", "warn-wash"), ("bad", "bad-wash"), ("bad", "paper"),
        ("ink", "ok-wash"), ("ink", "warn-wash"), ("ink", "bad-wash"), ("ink", "focus"),
    ]  # fmt: skip
    weak = {
        f"{t} on {b}": round(_contrast(colours[t], colours[b]), 2)
        for t, b in pairs
        if _contrast(colours[t], colours[b]) < 4.5
    }
    assert not weak, f"below 4.5:1: {weak}"
    assert _contrast("#000000", "#ffffff") == pytest.approx(21.0)  # the formula itself


# --- offline documentation, icon, pages that do not exist ------------------------------------


@SQLITE_ONLY
def test_api_documentation_needs_no_internet(web: TestClient) -> None:
    for page, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = web.get(page).text
        assert "cdn." not in html and "https://" not in html.split("<body", 1)[1]
        src = f"/static-docs/{script}"
        assert src in html
        served = web.get(src)
        assert served.status_code == 200 and len(served.content) > 100_000


@SQLITE_ONLY
def test_the_site_has_an_icon(web: TestClient) -> None:
    assert 'rel="icon"' in web.get("/login").text
    icon = web.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


@SQLITE_ONLY
def test_a_missing_page_is_a_page_in_the_readers_language(web: TestClient) -> None:
    page = web.get("/no-such-page?lang=st", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>" in page.text and 'lang="st"' in page.text
    api = web.get("/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
