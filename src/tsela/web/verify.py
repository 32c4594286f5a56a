"""The public verify page: paste a permit token (or upload a photo of its QR code) and see
whether it is valid, expired, revoked or forged. Also used by the employer portal.

Tokens travel in POST bodies only, never in URLs (they carry the holder's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsela.api.deps import clock_of, get_session, get_settings
from tsela.config import Settings
from tsela.domain.credentials import MAX_TOKEN_LENGTH, Verification, VerifyStatus
from tsela.services import permit_qr, permit_trust
from tsela.services.keys import KeyStoreError
from tsela.store.models import User
from tsela.web.i18n import N_
from tsela.web.render import render
from tsela.web.security import public_page

router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 5 * 1024 * 1024  # a phone photo of a QR code; more is refused, not read

# What a person is told, by status; "tone" picks the colour, the words carry the meaning.
VERDICTS: dict[VerifyStatus, tuple[str, str]] = {
    VerifyStatus.VALID: (N_("VALID"), "ok"),
    VerifyStatus.NOT_YET_VALID: (N_("NOT YET VALID"), "warn"),
    VerifyStatus.EXPIRED: (N_("EXPIRED"), "warn"),
    VerifyStatus.SUSPENDED: (N_("SUSPENDED"), "warn"),
    VerifyStatus.REVOKED: (N_("REVOKED"), "bad"),
    VerifyStatus.FORGED: (N_("FORGED"), "bad"),
    VerifyStatus.UNKNOWN_KEY: (N_("NOT TRUSTED: unknown signing key"), "bad"),
    VerifyStatus.KEY_WITHDRAWN: (N_("NOT TRUSTED: signing key withdrawn"), "bad"),
    VerifyStatus.UNREADABLE: (N_("COULD NOT BE READ"), "warn"),
}

VERDICT_HELP: dict[VerifyStatus, str] = {
    VerifyStatus.VALID: N_("This permit is genuine and valid today."),
    VerifyStatus.NOT_YET_VALID: N_("This permit is genuine but not valid yet."),
    VerifyStatus.EXPIRED: N_("This permit is genuine but its validity has ended."),
    VerifyStatus.SUSPENDED: N_("This permit has been suspended by the issuing office."),
    VerifyStatus.REVOKED: N_("This permit has been revoked by the issuing office."),
    VerifyStatus.FORGED: N_("This is not a genuine Tsela permit. Do not accept it."),
    VerifyStatus.UNKNOWN_KEY: N_("The signature cannot be checked with the keys known here."),
    VerifyStatus.KEY_WITHDRAWN: N_(
        "The issuing office withdrew the key that signed this permit. Do not accept it: the "
        "holder should ask the issuing office for a new one."
    ),
    VerifyStatus.UNREADABLE: N_(
        "This is not a readable permit token: check that it was copied or scanned whole and "
        "try again. It does not mean the permit is forged."
    ),
}


@dataclass(frozen=True)
class Checked:
    """What the verify form shows back: a verdict, or a problem with the input."""

    verification: Verification | None = None
    problem: str | None = None  # an N_ message
    detail: str = ""  # untranslated technical detail (e.g. the image decoder's words)
    node: str | None = None  # the node that verified it

    @property
    def partner(self) -> bool:
        """A permit issued by the other country (verified with the keys it publishes)."""
        issuer = self.verification.issued_by if self.verification else None
        return issuer is not None and self.node is not None and issuer != self.node

    @property
    def verdict(self) -> str:
        assert self.verification is not None
        return VERDICTS[self.verification.status][0]

    @property
    def tone(self) -> str:
        assert self.verification is not None
        return VERDICTS[self.verification.status][1]

    @property
    def help(self) -> str:
        assert self.verification is not None
        return VERDICT_HELP[self.verification.status]


async def token_from_form(token: str, upload: UploadFile | None) -> tuple[str | None, Checked]:
    """The token pasted, or read from an uploaded QR image; or the reason there is none."""
    if upload is not None and upload.filename:
        data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            return None, Checked(problem=N_("The image is larger than 5 MB."))
        if not data:
            return None, Checked(problem=N_("The uploaded file is empty."))
        try:
            texts = permit_qr.decode_image(data)
        except permit_qr.QRError as exc:
            return None, Checked(
                problem=N_("No QR code could be read from the image."), detail=str(exc)
            )
        return texts[0].strip(), Checked()
    text = "".join(token.split())  # scanners and e-mail wrap long tokens
    if not text:
        return None, Checked(problem=N_("Paste a permit token or upload a photo of its QR code."))
    if len(text) > MAX_TOKEN_LENGTH:
        return None, Checked(problem=N_("This text is far too long to be a permit token."))
    return text, Checked()


def check_token(session: Session, settings: Settings, token: str, today: date) -> Checked:
    # The same trust as POST /v1/permits/verify (services.permit_trust): this node's
    # register, and the keys, revocation lists and status changes of the partner nodes.
    try:
        result = permit_trust.verify(session, settings.var_dir, settings.node, token, today)
    except KeyStoreError as exc:
        return Checked(problem=N_("The keys of this office cannot be read."), detail=str(exc))
    return Checked(verification=result, node=settings.node)


@router.get("/verify")
def verify_form(request: Request, _anyone: User | None = Depends(public_page)) -> Response:
    """Public: anyone holding a permit token may check it (the token itself is the secret)."""
    return render(request, "verify.html", {"checked": None})


@router.post("/verify")
async def verify_submit(
    request: Request,
    _anyone: User | None = Depends(public_page),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    token: str = Form(""),
    image: UploadFile | None = File(None),
) -> Response:
    """Public: verify a pasted token or an uploaded QR image (CSRF-checked like every form)."""
    text, checked = await token_from_form(token, image)
    if text is not None:
        checked = await run_in_threadpool(
            check_token, session, settings, text, clock_of(request).today()
        )
    status = 200 if checked.problem is None else 400
    return render(request, "verify.html", {"checked": checked}, status)
