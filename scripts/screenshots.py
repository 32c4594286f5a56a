"""Screenshots of the main web pages, taken in Debian's Chromium against a real demo site.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--persons 2000]

Builds a throw-away South African node (so the console shows the Lesotho visitor stay rule)
with a synthetic population, signs in as each role and saves PNGs. Look at them before
committing: they are the project's shop window.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "browser"), str(ROOT / "tests")]

from harness import CHROMIUM, CHROMIUM_ARGS, sign_in, site  # noqa: E402

from factories import passport_lines  # noqa: E402

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def pick_travellers(database_url: str) -> tuple[list[str], list[str]]:
    """MRZs of two synthetic Basotho travellers for the console: one the check clears (with
    days of stay left and past crossings), one it refers (e.g. an earlier overstay)."""
    from sqlalchemy import func, select

    from tsela.domain.values import Direction
    from tsela.kernel import clock
    from tsela.services import checks
    from tsela.store.db import make_engine, session_factory
    from tsela.store.models import Crossing, Person, TravelDocument, User

    engine = make_engine(database_url)
    found: dict[str, list[str]] = {}
    with session_factory(engine)() as s:
        officer = s.scalar(select(User).where(User.username == "officer"))
        busy = (
            select(Crossing.person_id)
            .where(Crossing.country == "ZAF")
            .group_by(Crossing.person_id)
            .having(func.count() >= 6)
            .limit(400)
        )
        rows = s.execute(
            select(Person, TravelDocument)
            .join(TravelDocument, TravelDocument.person_id == Person.id)
            .where(Person.id.in_(busy), Person.nationality == "LSO")
        ).all()
        for person, doc in rows:
            if len(found) == 2:
                break
            try:
                lines = passport_lines(
                    doc.number,
                    surname=person.primary_name,
                    given=person.given_names,
                    birth=person.birth_date or date(1990, 1, 1),
                    expiry=doc.expiry_date or date(2030, 1, 1),
                    sex=person.sex.value,
                )
            except ValueError:
                continue
            request = checks.CheckRequest(
                port="MSU", direction=Direction.ENTRY, at=clock.now(), mrz="\n".join(lines)
            )
            try:
                result = checks.run_check(s, node="ZA", officer=officer, request=request)
            except checks.CheckError:
                s.rollback()
                continue
            decision = result.check.decision.value
            s.rollback()  # only looking
            if decision not in found and (decision != "CLEAR" or result.recent):
                found[decision] = lines
    engine.dispose()
    return found.get("CLEAR", []), found.get("REFER", [])


def scan(page, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_label("Scan or paste the document's machine-readable zone (MRZ)")
    box.focus()
    for line in lines:
        page.keyboard.type(line)
        page.keyboard.press("Enter")
    page.locator("#decision-word").wait_for()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--persons", type=int, default=2000, help="synthetic travellers")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as tmp,
        site(Path(tmp), persons=args.persons, node="ZA") as live,
        sync_playwright() as pw,
    ):
        clear, refer = pick_travellers(live.database_url)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def page(viewport: dict[str, int] = DESKTOP, locale: str = "en-GB"):  # type: ignore[no-untyped-def]
            ctx = browser.new_context(base_url=live.url, viewport=viewport, locale=locale)
            return ctx.new_page()

        def shot(p, name: str, full: bool = True) -> None:  # type: ignore[no-untyped-def]
            p.screenshot(path=str(args.out / f"{name}.png"), full_page=full)
            print("saved", args.out / f"{name}.png")

        public = page()
        public.goto("/login")
        shot(public, "login")

        officer = page()
        sign_in(officer, "officer")
        shot(officer, "console-scan")
        if clear:
            scan(officer, clear)
            shot(officer, "console-clear")
            officer.keyboard.press("r")
            officer.get_by_role("status").wait_for()
        if refer:
            scan(officer, refer)
            shot(officer, "console-refer")
            officer.goto("/console")
        expired = passport_lines(
            "RF2223334", surname="THABANE", given="KATLEHO", expiry=date(2024, 1, 31), sex="M"
        )
        scan(officer, expired)
        officer.get_by_label("Override: why let this traveller cross anyway?").fill(
            "Returning to his employer; identity confirmed with his national ID card."
        )
        shot(officer, "console-deny")
        officer.get_by_role("button", name="Record crossing with override").click()

        supervisor = page()
        sign_in(supervisor, "supervisor")
        supervisor.goto("/review?day=all")
        shot(supervisor, "review")

        worker = page(PHONE, "st-LS")
        sign_in(worker, "palesa", lang="st")
        worker.get_by_role("link", name="Kopa tumello").click()
        worker.get_by_label("Tumello ea ho ithuta ka mose ho moeli").check()
        worker.get_by_role("button", name="Tsoela pele").click()
        worker.get_by_label("Phasepoto").fill("RC1112223")
        worker.get_by_label("Ngoliso sekolong kapa univesithing").fill("NUL-2026-0042")
        shot(worker, "worker-apply-st")
        worker.get_by_label("Bopaki ba chelete").fill("Lengolo la bursary")
        worker.get_by_role("button", name="Romela kopo").click()
        number = worker.locator("dl.facts dd").first.inner_text()

        desk = page()
        sign_in(desk, "permits")
        shot(desk, "desk-queue")
        desk.get_by_role("link", name=number).click()
        shot(desk, "desk-application")
        desk.get_by_role("button", name="Approve").click()
        desk.get_by_role("button", name="Issue the signed permit").click()

        worker.goto(worker.url.split("?")[0])  # as when coming back later
        shot(worker, "worker-permit-qr-st")
        photo = worker.get_by_role("img", name=f"Khoutu ea QR ea tumello {number}").screenshot()

        employer = page()
        sign_in(employer, "orchard")
        employer.goto("/employer/verify")
        employer.get_by_label("…or a photo of the QR code").set_input_files(
            files=[{"name": "permit.png", "mimeType": "image/png", "buffer": photo}]
        )
        employer.get_by_role("button", name="Verify").click()
        shot(employer, "employer-verify")

        forged = page()
        forged.goto("/verify")
        forged.get_by_label("Permit token").fill("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJmYWtlIn0.AAAA")
        forged.get_by_role("button", name="Verify").click()
        shot(forged, "verify-forged")
        browser.close()


if __name__ == "__main__":
    main()
