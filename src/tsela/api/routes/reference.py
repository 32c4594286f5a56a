"""Reference data: ports of entry."""

from __future__ import annotations

from fastapi import APIRouter

from tsela.api.schemas import PortOut
from tsela.reference import ports

router = APIRouter(prefix="/v1", tags=["reference"])


@router.get("/ports", response_model=list[PortOut])
def list_ports() -> list[PortOut]:
    """The ports of entry between Lesotho and South Africa, with each side's name."""
    return [
        PortOut(
            code=p.code,
            name_za=p.name_za,
            name_ls=p.name_ls,
            za_province=p.za_province,
            ls_district=p.ls_district,
            kind=p.kind,
            normal_hours=p.normal_hours,
        )
        for p in ports().values()
    ]
