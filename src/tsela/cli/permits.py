"""``tsela permit ...`` and ``tsela employer ...``: the permit workflow at a counter, and
offline verification of signed permits (``tsela permit verify TOKEN_OR_IMAGE``).

Commands that change permits act as a permit officer named ``cli:<login>`` on this node.
``verify`` needs no database: only key set files and signed revocation lists.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from tsela.cli.common import clock, console, fail, settings, user_errors
from tsela.domain.credentials import VerifyStatus
from tsela.kernel.clock import border_day

permit_app = typer.Typer(
    help="Permits: apply, decide, issue, verify, revoke.", no_args_is_help=True
)
keys_app = typer.Typer(help="This node's signing keys.", no_args_is_help=True)
revocations_app = typer.Typer(help="Signed revocation lists.", no_args_is_help=True)
employer_app = typer.Typer(help="The registry of employers.", no_args_is_help=True)
permit_app.add_typer(keys_app, name="keys")
permit_app.add_typer(revocations_app, name="revocations")

DECISIONS = {
    "approve": "approved",
    "reject": "rejected",
    "request-evidence": "evidence_requested",
    "suspend": "suspended",
    "reinstate": "issued",
    "revoke": "revoked",
}
TODAY_HELP = "The day to act on (YYYY-MM-DD); default: today in Southern Africa."


def _today(value: str | None) -> date:
    if not value:
        return clock().today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--today {value!r}: expected a date like 2026-03-02")


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: expected a date like 1990-03-14")


def _now() -> datetime:
    return clock().now()


def _actor():
    from tsela.kernel.actor import Actor
    from tsela.store.models import Role

    return Actor(f"cli:{getpass.getuser()}"[:60], Role.PERMIT_OFFICER, settings().node)


@contextmanager
def _session() -> Iterator[Session]:
    from tsela.store.db import make_engine, session_factory, transaction

    engine = make_engine(settings().url)
    try:
        with transaction(session_factory(engine)) as s:
            yield s
    finally:
        engine.dispose()


def _keystore():
    from tsela.services.keys import KeyStore

    cfg = settings()
    return KeyStore(cfg.var_dir, cfg.node)


def _signing_keystore():
    """The key store, for a command that signs: refused when issued permits' keys are
    missing (a new key would leave them unverifiable)."""
    from tsela.services.keys import require_signing_keys
    from tsela.store.db import make_engine

    store = _keystore()
    engine = make_engine(settings().url)
    try:
        require_signing_keys(engine, store)
    finally:
        engine.dispose()
    return store


def _evidence(items: list[str]):
    from tsela.services.permits import EvidenceItem

    out = []
    for item in items:
        kind, _, ref = item.partition("=")
        out.append(EvidenceItem(kind.strip(), ref.strip()))
    return out


# --- types and applications ---------------------------------------------------------------


@permit_app.command("types")
@user_errors
def types_cmd() -> None:
    """The permit types, with their rights and validity."""
    from tsela.domain.permits import permit_types

    for t in permit_types().values():
        validity = f"{t.validity_days} days" if t.validity_days else ""
        if t.valid_until:
            validity += f"{', ' if validity else ''}until {t.valid_until.isoformat()}"
        console.print(
            f"{t.code:9} {t.name} — rights: {', '.join(t.rights)}; valid {validity}; "
            f"in {', '.join(t.countries)}"
        )


@permit_app.command("apply")
@user_errors
def apply_cmd(
    permit_type: str = typer.Argument(..., help="Permit type code (see `tsela permit types`)."),
    surname: str = typer.Option(..., help="Surname as on the travel document."),
    given_names: str = typer.Option("", help="Given names as on the travel document."),
    birth_date: str = typer.Option(None, help="Date of birth, YYYY-MM-DD."),
    nationality: str = typer.Option(..., help="ISO 3166 alpha-3, e.g. LSO."),
    passport: str = typer.Option(..., help="Travel document number."),
    passport_expiry: str = typer.Option(..., help="Travel document expiry, YYYY-MM-DD."),
    issuing_state: str = typer.Option(None, help="Issuing state (default: the nationality)."),
    sex: str = typer.Option("X", help="M, F or X."),
    employer: str = typer.Option(None, help="Employer registration number."),
    country: str = typer.Option(None, help="Country where the permit is valid (ZAF or LSO)."),
    evidence: list[str] = typer.Option(
        [], "--evidence", "-e", help="Evidence given, KIND or KIND=REFERENCE; repeatable."
    ),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """Open an application (a draft permit) for an applicant."""
    from tsela.services import permits as svc

    applicant = svc.Applicant(
        surname=surname,
        given_names=given_names,
        birth_date=_date(birth_date, "--birth-date"),
        nationality=nationality,
        document_number=passport,
        document_expiry=_date(passport_expiry, "--passport-expiry"),
        issuing_state=issuing_state,
        sex=sex.upper(),
    )
    with _session() as s:
        permit = svc.apply(
            s,
            _actor(),
            type_code=permit_type,
            today=_today(today),
            applicant=applicant,
            employer=employer,
            country=country,
            evidence=_evidence(evidence),
        )
        number = permit.number
    console.print(f"application {number} opened (draft)")


@permit_app.command("evidence")
@user_errors
def evidence_cmd(
    number: str = typer.Argument(..., help="Permit number."),
    items: list[str] = typer.Argument(..., help="KIND or KIND=REFERENCE."),
) -> None:
    """Add evidence to an application."""
    from tsela.services import permits as svc

    with _session() as s:
        svc.add_evidence(s, _actor(), number, _evidence(items))
    console.print(f"{len(items)} item(s) of evidence added to {number.upper()}")


@permit_app.command("submit")
@user_errors
def submit_cmd(
    number: str = typer.Argument(..., help="Permit number."),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """Submit an application (its evidence must be complete)."""
    from tsela.services import permits as svc

    with _session() as s:
        svc.submit(s, _actor(), number, _today(today))
    console.print(f"{number.upper()} submitted")


@permit_app.command("decide")
@user_errors
def decide_cmd(
    number: str = typer.Argument(..., help="Permit number."),
    decision: str = typer.Argument(..., help=" | ".join(DECISIONS)),
    reason: str = typer.Option(None, help="Why (required to reject, request evidence, ...)."),
) -> None:
    """Decide on a permit: approve, reject, request-evidence, suspend, reinstate, revoke."""
    from tsela.services import permits as svc

    target = DECISIONS.get(decision.lower())
    if target is None:
        fail(f"unknown decision {decision!r}: one of {', '.join(DECISIONS)}")
    with _session() as s:
        permit = svc.decide(s, _actor(), number, target, reason, _now())
        status = permit.status
    console.print(f"{number.upper()} is now {status}")


@permit_app.command("revoke")
@user_errors
def revoke_cmd(
    number: str = typer.Argument(..., help="Permit number."),
    reason: str = typer.Option(..., help="Why the permit is revoked."),
) -> None:
    """Revoke an issued or suspended permit (publish a new revocation list afterwards)."""
    decide_cmd(number, "revoke", reason)


@permit_app.command("issue")
@user_errors
def issue_cmd(
    number: str = typer.Argument(..., help="Permit number."),
    qr: Path = typer.Option(None, help="Write the QR code here (.png or .svg)."),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """Issue an approved permit: signs the credential; prints the token, writes the QR code."""
    from tsela.services import permits as svc
    from tsela.services.permit_qr import render_png, render_svg

    if qr is not None and qr.suffix.lower() not in (".png", ".svg"):
        fail(f"--qr {qr}: the file must end in .png or .svg")
    now = _now()
    signer = _signing_keystore().signer(now)
    with _session() as s:
        permit = svc.issue(s, _actor(), number, signer, _today(today), now)
        token, valid_to = permit.token or "", permit.valid_to
    if qr is not None:
        if qr.suffix.lower() == ".png":
            qr.write_bytes(render_png(token))
        else:
            qr.write_text(render_svg(token), encoding="utf-8")
    console.print(f"{number.upper()} issued, valid to {valid_to}; signed with {signer.kid}")
    if qr is not None:
        console.print(f"QR code written to {qr}")
    typer.echo(token)


@permit_app.command("renew")
@user_errors
def renew_cmd(
    number: str = typer.Argument(..., help="The permit to renew."),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """Open a renewal application for an expiring permit (its evidence is carried over)."""
    from tsela.services import permits as svc

    with _session() as s:
        new = svc.renew(s, _actor(), number, _today(today))
        new_number = new.number
    console.print(f"renewal application {new_number} opened for {number.upper()}")


@permit_app.command("extend")
@user_errors
def extend_cmd(
    permit_type: str = typer.Argument(..., help="The type whose programme end moved (e.g. LEP)."),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """After editing a type's valid_until (an extension), re-issue its still-valid permits."""
    from tsela.services import permits as svc

    now = _now()
    signer = _signing_keystore().signer(now)
    with _session() as s:
        done = svc.extend_programme(s, _actor(), permit_type, signer, _today(today), now)
        lines = [f"{p.number}  now valid to {p.valid_to}" for p in done]
    for line in lines:
        console.print(line)
    console.print(f"{len(lines)} permit(s) re-issued; give the holders their new QR codes")


@permit_app.command("show")
@user_errors
def show_cmd(
    number: str = typer.Argument(..., help="Permit number."),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """A permit, its status today and its history."""
    from tsela.services import permits as svc

    with _session() as s:
        actor = _actor()
        v = svc.view(s, actor, number, _today(today))
        events = svc.history(s, actor, number)
        lines = [
            f"{border_day(e.at).isoformat()}  {e.action:16} {e.from_status or '-'} -> {e.to_status}"
            f"  by {e.actor}{'  (' + e.reason + ')' if e.reason else ''}"
            for e in events
        ]
    console.print(f"{v.number}  {v.type_name}  holder {v.holder}")
    console.print(
        f"status {v.effective_status.value}; valid {v.valid_from or '-'} to {v.valid_to or '-'}; "
        f"rights {', '.join(v.rights)}; employer {v.employer or '-'}"
    )
    for line in lines:
        console.print("  " + line)


@permit_app.command("expire")
@user_errors
def expire_cmd(today: str = typer.Option(None, help=TODAY_HELP)) -> None:
    """Record as expired the permits whose last day has passed (status shows it anyway)."""
    from tsela.services import permits as svc

    with _session() as s:
        n = svc.expire_due(s, _actor(), _today(today))
    console.print(f"{n} permit(s) recorded as expired")


@permit_app.command("expiring")
@user_errors
def expiring_cmd(
    within: int = typer.Option(30, min=0, help="Days ahead: 30, 60 or 90 for reminders."),
    employer: str = typer.Option(None, help="Only this employer (registration number)."),
    permit_type: str = typer.Option(None, "--type", help="Only this permit type."),
    by: str = typer.Option(None, help="Summarise by 'employer' or 'type' instead of listing."),
    csv_out: Path = typer.Option(None, "--csv", help="Write the list as CSV to this file."),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """Permits that end within N days, soonest first."""
    from tsela.services import employers as emp
    from tsela.services import permits as svc

    if by not in (None, "employer", "type"):
        fail(f"--by {by!r}: 'employer' or 'type'")
    day = _today(today)
    with _session() as s:
        employer_id = emp.get_employer(s, employer).id if employer else None
        views = svc.list_permits(
            s, _actor(), day, employer_id=employer_id, type_code=permit_type, expiring_within=within
        )
    if csv_out is not None:
        csv_out.write_text(svc.to_csv(views), encoding="utf-8")
        console.print(f"{len(views)} permit(s) written to {csv_out}")
        return
    if by:
        for key, counts in sorted(svc.expiring_summary(views, by).items()):
            bands = "  ".join(f"<={b}d: {n}" for b, n in counts.items())
            console.print(f"{key:40} {bands}")
        return
    for v in views:
        console.print(
            f"{v.number}  {v.valid_to}  ({v.days_left} days)  {v.permit_type:8} {v.holder}"
            f"{'  ' + v.employer if v.employer else ''}"
        )
    console.print(f"{len(views)} permit(s) end within {within} days of {day.isoformat()}")


# --- verification (offline) ----------------------------------------------------------------


def _verifier_dir() -> Path:
    return settings().var_dir / "verifier"


@permit_app.command("verify")
@user_errors
def verify_cmd(
    token_or_image: str = typer.Argument(..., help="The token, or an image file of its QR code."),
    keys: list[Path] = typer.Option(
        [], "--keys", help="Key set (JWKS) file; default: this machine's key sets."
    ),
    revocations: list[Path] = typer.Option(
        [], "--revocations", help="Signed revocation list file; default: those fetched here."
    ),
    today: str = typer.Option(None, help="Check validity on this day (default: today)."),
    as_json: bool = typer.Option(False, "--json", help="Answer as JSON."),
) -> None:
    """Verify a permit offline: valid, expired, suspended, revoked, forged, unknown or
    withdrawn key; this node's permits and the partner node's (with the keys and revocation
    list it publishes through the exchange), saying which country issued it.

    Exit status 0 only when the permit is valid; 1 when it is not; 2 on bad input.
    """
    from tsela.services import permit_trust
    from tsela.services.permit_qr import decode_image, looks_like_image

    if looks_like_image(token_or_image):
        texts = decode_image(Path(token_or_image))
        token = texts[0]
    else:
        token = token_or_image
    var_dir = settings().var_dir
    if not (keys or permit_trust.key_files(var_dir)):
        fail("no key set: pass --keys FILE, or run `tsela permit fetch --server URL` first")
    trust = permit_trust.load_trust(var_dir, keys=keys, revocations=revocations)
    if trust.problems and revocations:  # a list named on the command line must be usable
        fail(trust.problems[0])
    result = permit_trust.verify_offline(trust, token, _today(today), settings().node)
    if as_json:
        typer.echo(json.dumps(verification_json(result), indent=2))
    else:
        show_verification(result, trust.problems)
    if result.status is not VerifyStatus.VALID:
        raise typer.Exit(1)


def show_verification(result, notes: list[str]) -> None:
    """A verification in words, with the country that issued the permit (English and
    Sesotho): ``tsela permit verify`` and ``tsela port verify``."""
    from tsela.web.labels import issued_by

    c = result.claims
    issuer = issued_by(result.issued_by)
    colour = "green" if result.valid else "red"
    console.print(f"[bold {colour}]{result.status.value.upper()}[/]: {result.reasons[0]}")
    for extra in [*result.reasons[1:], *notes]:
        console.print(f"  note: {extra}")
    if issuer is not None:
        words = issuer["words"]
        console.print(f"  issued:   {words['en']} (node {issuer['node']}); Sesotho: {words['st']}")
    if c is not None:
        console.print(f"  holder:   {c.holder} ({c.nationality}, born {c.birth_date or '-'})")
        console.print(f"  permit:   {c.number}  {c.type_name} ({c.permit_type})")
        console.print(f"  rights:   {', '.join(c.rights)} in {c.country}")
        console.print(f"  valid:    {c.valid_from.isoformat()} to {c.valid_to.isoformat()}")
        if c.employer:
            console.print(f"  employer: {c.employer}")


def verification_json(result) -> dict[str, object]:
    """The answer ``POST /v1/permits/verify`` gives (one builder: services.permits)."""
    from tsela.services.permits import verification_answer
    from tsela.web.labels import issued_by

    return verification_answer(result, issued_by(result.issued_by))


@permit_app.command("fetch")
@user_errors
def fetch_cmd(
    server: str = typer.Option(..., help="Base URL of a Tsela node, e.g. https://tsela.example"),
) -> None:
    """Download a node's key set and signed revocation list for offline verification."""
    import httpx

    from tsela.domain.credentials import KeySet, Verifier

    base = server.rstrip("/")
    try:
        jwks = httpx.get(f"{base}/v1/permits/keys", timeout=20)
        jwks.raise_for_status()
        rl = httpx.get(f"{base}/v1/permits/revocations", timeout=20)
        rl.raise_for_status()
    except httpx.HTTPError as exc:
        fail(f"cannot download from {base}: {exc}")
    keyset = KeySet.from_jwks(jwks.text)
    listed = Verifier(keyset).parse_revocations(rl.text)  # refuse a list that does not verify
    out = _verifier_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"keys-{listed.node}.json").write_text(jwks.text, encoding="utf-8")
    (out / f"revocations-{listed.node}.jws").write_text(rl.text, encoding="utf-8")
    console.print(
        f"node {listed.node}: {len(keyset)} key(s), {len(listed.revoked)} revoked and "
        f"{len(listed.suspended)} suspended permit(s) as of {listed.issued_at.isoformat()}; "
        f"saved in {out}"
    )


# --- keys and revocation lists --------------------------------------------------------------


@keys_app.command("rotate")
@user_errors
def keys_rotate() -> None:
    """Make a new signing key; the old one is retired (its public key stays published)."""
    old, new = _signing_keystore().rotate(_now())
    was = f"; {old.kid} retired" if old else ""
    console.print(f"new signing key {new.kid}{was}")


@keys_app.command("withdraw")
@user_errors
def keys_withdraw(
    kid: str = typer.Argument(
        ..., help="The permit-signing key to withdraw (tsela permit keys show)."
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Withdraw a permit-signing key at once (say its private half leaked): every verifier
    refuses whatever it signed, from the next key set it gets (the partner node through the
    exchange, ports at their next sync). Permits it signed must be issued again."""
    store = _signing_keystore()
    if not yes and not typer.confirm(
        f"Withdraw {kid}? Every permit it signed will be refused everywhere."
    ):
        fail("nothing withdrawn", code=1)
    gone, new = store.withdraw(kid, _now())
    made = f"; new signing key {new.kid}" if new else ""
    console.print(f"permit-signing key {gone.kid} withdrawn{made}")


@keys_app.command("show")
@user_errors
def keys_show() -> None:
    """This node's keys (public parts)."""
    store = _signing_keystore()  # it makes the first key: never one beside missing ones
    store.ensure(_now())
    for k in store.keyset().keys.values():
        console.print(f"{k.kid}  {k.status}  created {k.created.isoformat() if k.created else '-'}")


@keys_app.command("export")
@user_errors
def keys_export(
    out: Path = typer.Option(None, help="Output file (default: <var>/verifier/keys-<NODE>.json)."),
) -> None:
    """Write the public key set (JWKS) for verifiers."""
    store = _signing_keystore()
    store.ensure(_now())
    path = out or _verifier_dir() / f"keys-{store.node}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store.jwks(), indent=2) + "\n", encoding="utf-8")
    console.print(f"key set written to {path}")


@revocations_app.command("export")
@user_errors
def revocations_export(
    out: Path = typer.Option(
        None, help="Output file (default: <var>/verifier/revocations-<NODE>.jws)."
    ),
) -> None:
    """Sign and write the list of revoked and suspended permits of this node."""
    from tsela.services import permits as svc

    store = _signing_keystore()
    now = _now()
    with _session() as s:
        signed = svc.signed_revocation_list(s, store, now)
        listed = svc.revocation_list(s, store.node, now)
    path = out or _verifier_dir() / f"revocations-{store.node}.jws"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(signed + "\n", encoding="utf-8")
    console.print(
        f"revocation list written to {path}: {len(listed.revoked)} revoked, "
        f"{len(listed.suspended)} suspended"
    )


# --- employers ------------------------------------------------------------------------------


@employer_app.command("add")
@user_errors
def employer_add(
    registration_number: str = typer.Argument(..., help="Company registration number."),
    name: str = typer.Option(..., help="Registered name."),
    sector: str = typer.Option(..., help="e.g. agriculture, mining, retail, domestic work."),
    address: str = typer.Option("", help="Physical address."),
    contact: str = typer.Option("", help="Contact person, telephone or e-mail."),
    country: str = typer.Option("ZAF", help="ISO 3166 alpha-3 country of registration."),
) -> None:
    """Register an employer."""
    from tsela.services import employers as emp

    with _session() as s:
        e = emp.register_employer(
            s,
            _actor(),
            registration_number=registration_number,
            name=name,
            sector=sector,
            address=address,
            contact=contact,
            country=country,
        )
        reg = e.registration_number
    console.print(f"employer {reg} registered")


@employer_app.command("list")
@user_errors
def employer_list(sector: str = typer.Option(None, help="Only this sector.")) -> None:
    """Registered employers."""
    from tsela.services import employers as emp

    with _session() as s:
        rows = [
            (e.registration_number, e.name, e.sector, e.country)
            for e in emp.list_employers(s, sector)
        ]
    for reg, name, sec, ctry in rows:
        console.print(f"{reg:20} {name:40} {sec:16} {ctry}")
    console.print(f"{len(rows)} employer(s)")


@employer_app.command("permits")
@user_errors
def employer_permits(
    registration_number: str = typer.Argument(..., help="Employer registration number."),
    today: str = typer.Option(None, help=TODAY_HELP),
) -> None:
    """The permits of an employer's workers, with their status today."""
    from tsela.services import employers as emp

    with _session() as s:
        views = emp.workers_permits(s, _actor(), registration_number, _today(today))
    for v in views:
        console.print(f"{v.number}  {v.effective_status.value:10} {v.valid_to or '-'}  {v.holder}")
    console.print(f"{len(views)} permit(s)")


@employer_app.command("end-employment")
@user_errors
def employer_end(
    number: str = typer.Argument(..., help="The worker's permit number."),
    end_date: str = typer.Option(..., "--date", help="Last day of employment, YYYY-MM-DD."),
    reason: str = typer.Option(..., help="Why the employment ended."),
) -> None:
    """Report the end of a worker's employment under a permit."""
    from tsela.services import permits as svc

    day = _date(end_date, "--date")
    assert day is not None
    with _session() as s:
        svc.end_employment(s, _actor(), number, day, reason)
    console.print(f"employment under {number.upper()} ended on {day.isoformat()}")


def register(app: typer.Typer) -> None:
    app.add_typer(permit_app, name="permit")
    app.add_typer(employer_app, name="employer")
