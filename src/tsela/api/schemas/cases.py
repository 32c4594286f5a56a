"""Trafficking and smuggling cases (issue 18, item 4): the answers of /v1/cases, the case
catalogue (kinds, indicators, referrals, outcomes) and the summaries exported for the AU
Continental Operational Centre and the partner node (docs/security.md, "Cases")."""

from __future__ import annotations

from pydantic import Field

from tsela.api.schemas.common import Day, Id, Moment, Out

__all__ = [
    "CaseCatalogueOut",
    "CaseCheckOut",
    "CaseEventDetailOut",
    "CaseEventOut",
    "CaseExportOut",
    "CaseListItemOut",
    "CaseOpenedOut",
    "CaseOut",
    "CasePageOut",
    "CaseSummaryOut",
    "CaseTravellerOut",
    "CatalogueEntryOut",
    "ExportPeriodOut",
    "ExportedCaseOut",
    "IndicatorOut",
]


class CaseOpenedOut(Out):
    """What the desk learns of the case it opened (the case itself is for case officers)."""

    id: Id
    kind: str
    status: str
    opened_at: Moment
    check_id: Id


class CaseSummaryOut(Out):
    id: Id
    node: str
    kind: str = Field(examples=["trafficking"])
    status: str = Field(description="open, referred or closed")
    port_code: str
    opened_at: Moment
    opened_by: str
    assigned_to: str | None = Field(description="The case officer who has it")
    indicators: list[str] = Field(description="The codes of the indicators ticked")
    referrals: list[str] = Field(description="police, social_development (as referred)")
    outcome: str | None
    closed_at: Moment | None
    updated_at: Moment


class CaseListItemOut(CaseSummaryOut):
    traveller_name: str


class CasePageOut(Out):
    items: list[CaseListItemOut]
    total: int
    offset: int
    limit: int


class CaseTravellerOut(Out):
    person_id: Id
    surname: str
    given_names: str
    sex: str
    birth_date: Day | None
    nationality: str
    document_country: str | None
    document_number: str | None


class CaseCheckOut(Out):
    id: Id
    checked_at: Moment
    direction: str
    decision: str
    reasons: list[str] = Field(description="The codes of the check's reasons")


class CaseEventDetailOut(Out):
    """What an event changed; the fields of its kind are set, the others null."""

    kind: str | None = Field(None, description="opened: the kind of case")
    indicators: list[str] | None = Field(None, description="opened: the indicators ticked")
    check: str | None = Field(None, description="opened: the check's id")
    port: str | None = Field(None, description="opened: the port's code")
    ticked: list[str] | None = Field(None, description="indicators: newly ticked")
    unticked: list[str] | None = Field(None, description="indicators: no longer ticked")
    agency: str | None = Field(None, description="referred: police or social_development")
    to: str | None = Field(
        None, description="referred: the agency's name; assigned, handed_over: the officer"
    )
    from_: str | None = Field(None, alias="from", description="handed_over: the officer before")
    outcome: str | None = Field(None, description="closed: the outcome's code")


class CaseEventOut(Out):
    id: Id
    at: Moment
    actor: str
    kind: str = Field(
        description="opened, indicators, note, referred, assigned, handed_over, closed"
    )
    note: str
    detail: CaseEventDetailOut


class CaseOut(CaseSummaryOut):
    check_id: Id
    indicators_version: str
    traveller: CaseTravellerOut | None
    check: CaseCheckOut
    events: list[CaseEventOut]


class IndicatorOut(Out):
    code: str
    group: str
    kinds: list[str]
    en: str
    st: str
    source: str = Field(description="The guidance it is taken from")


class CatalogueEntryOut(Out):
    code: str
    en: str
    st: str
    extra: dict[str, str] = Field(description="A kind's law, a referral's agency by country")


class CaseCatalogueOut(Out):
    version: str
    kinds: list[CatalogueEntryOut]
    indicators: list[IndicatorOut]
    referrals: list[CatalogueEntryOut]
    outcomes: list[CatalogueEntryOut]


class ExportedCaseOut(Out):
    """One case as it leaves the node: no name, no document number, no note, no officer."""

    case_id: Id
    node: str
    kind: str
    status: str
    opened_on: Day = Field(description="Border day the case was opened")
    closed_on: Day | None
    port: str
    direction: str = Field(description="Of the check it was opened from")
    person_key: str | None = Field(
        description="HMAC-SHA256 of the traveller's record id with the node's secret (20 hex)"
    )
    sex: str | None
    age_group: str = Field(description="child (under 18 when opened), adult or unknown")
    nationality: str | None
    indicators: list[str]
    referrals: list[str]
    outcome: str | None
    indicators_version: str


class ExportPeriodOut(Out):
    from_: Day | None = Field(alias="from")
    to: Day | None


class CaseExportOut(Out):
    format: str = Field(examples=["tsela.case-summaries"])
    version: int
    node: str
    generated_at: Moment
    period: ExportPeriodOut
    indicators_version: str
    fields: list[str] = Field(description="The columns of the CSV form, in order")
    cases: list[ExportedCaseOut]
