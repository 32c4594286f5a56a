"""Refusals of entry and entry bans (issue 18): the answers of /v1/refusals and
/v1/entry-bans, and the grounds catalogue."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Day, Id, Moment, Out

__all__ = [
    "BanChangeOut",
    "EntryBanOut",
    "EntryBanPageOut",
    "GroundOut",
    "RefusalGroundOut",
    "RefusalOut",
    "RefusalPageOut",
]


class GroundOut(Out):
    """A ground for refusing entry (``reference/refusal_grounds.toml``)."""

    code: str = Field(examples=["C"])
    en: str
    st: str
    za_basis: str = Field(description="The provision of South Africa's Immigration Act")
    ls_basis: str = Field(description="The provision of Lesotho's Aliens Control Act")
    bannable: bool = Field(description="Whether a refusal on this ground may lead to a ban")
    source: str


class RefusalGroundOut(Out):
    code: str
    words: str = Field(description="In English")
    basis: str = Field(description="The provision of the refusing country's law")


class RefusalOut(Out):
    id: Id
    node: str = Field(description="The node that refused: LS or ZA")
    created_at: Moment
    country: str = Field(description="Refused entry into (alpha-3)")
    port_code: str
    refused_at: Moment
    officer_id: Id | None = Field(description="Empty in a partner's refusal")
    officer_name: str
    check_id: Id | None
    person_id: Id | None
    surname: str
    given_names: str
    birth_date: Day | None
    nationality: str
    document_country: str | None
    document_number: str | None
    grounds: list[RefusalGroundOut]
    grounds_version: str
    remarks: str


class RefusalPageOut(Out):
    items: list[RefusalOut]
    total: int
    offset: int
    limit: int


class BanChangeOut(Out):
    id: Id
    node: str
    created_at: Moment
    ban_id: Id
    action: str = Field(description="lift or shorten")
    old_end: Day
    new_end: Day | None
    reason: str
    appeal_reference: str | None
    approved_by: str = Field(description="The supervisor who approved it")


class EntryBanOut(Out):
    id: Id
    node: str = Field(description="The node that issued it")
    created_at: Moment
    issuing_country: str = Field(description="The country it bars entry into")
    legal_basis: str
    ground: str | None
    starts_on: Day
    ends_on: Day = Field(description="Last day of the ban (included)")
    lifted_on: Day | None
    refusal_id: Id | None
    issued_by: str
    person_id: Id | None
    surname: str
    given_names: str
    birth_date: Day | None
    nationality: str
    document_country: str | None
    document_number: str | None
    updated_at: Moment
    changes: list[BanChangeOut]


class EntryBanPageOut(Out):
    items: list[EntryBanOut]
    total: int
    offset: int
    limit: int
