"""What the application forms of the worker and employer portals share: which permit
types are open, and the evidence typed into the form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import Request

from tsela.domain import permits as dom
from tsela.domain.permits import PermitRuleError, PermitType
from tsela.services.permits import EvidenceItem

EVIDENCE_PREFIX = "ev_"


async def form_fields(request: Request) -> dict[str, str]:
    """The text fields of the posted form (for forms whose fields depend on data)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@dataclass(frozen=True)
class OpenType:
    type: PermitType
    required: tuple[str, ...]  # evidence every application needs
    optional: tuple[str, ...]  # evidence of which some group is needed


def open_types(
    today: date,
    nationality: str | None = None,
    *,
    employer_types: bool | None = None,
) -> list[OpenType]:
    """Permit types taking applications today, for this nationality.

    ``employer_types``: True keeps only types naming an employer or giving the right to
    work (employer portal), False leaves out types that require an employer (worker portal,
    where no employer is chosen), None keeps all.
    """
    out: list[OpenType] = []
    for ptype in dom.permit_types().values():
        try:
            ptype.check_open(today)
        except PermitRuleError:
            continue
        if nationality and ptype.nationalities and nationality not in ptype.nationalities:
            continue
        if ptype.requires_prior:
            continue  # only former holders qualify; the desk handles those
        if employer_types is True and not (ptype.employer_required or "work" in ptype.rights):
            continue
        required = tuple(ptype.evidence.required)
        optional = tuple(sorted(ptype.evidence.kinds - set(required)))
        out.append(OpenType(ptype, required, optional))
    return out


def evidence_from(fields: dict[str, str], ptype: PermitType) -> list[EvidenceItem]:
    """One item per evidence field that was filled in (the reference the person typed)."""
    items: list[EvidenceItem] = []
    for kind in sorted(ptype.evidence.kinds):
        reference = " ".join(fields.get(EVIDENCE_PREFIX + kind, "").split())
        if reference:
            items.append(EvidenceItem(kind=kind, reference=reference[:160]))
    return items
