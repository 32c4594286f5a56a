"""Reference data: ports of entry, and machine readable zones read."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from tsela.api.schemas.common import Out

__all__ = ["MrzOut", "PortOut"]


class PortOut(Out):
    code: str
    name_za: str
    name_ls: str
    za_province: str
    ls_district: str
    kind: str
    normal_hours: str


class MrzOut(Out):
    valid: bool
    format: str = Field(description="TD1, TD2, TD3, MRVA or MRVB")
    document_type: str
    issuing_state: str
    issuing_state_name: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    nationality_name: str
    birth_date: date | None
    expiry_date: date | None
    sex: str = Field(description="M, F or X (unspecified)")
    optional_data: str
    optional_data_2: str = Field(description="TD1 only: the optional data of line 2")
    errors: list[str] = Field(description="What is wrong, field by field, with its place")
    hints: list[str] = Field(description="Likely OCR misreadings (O/0, I/1, B/8...)")
    warnings: list[str]
    lines: list[str]
