"""Pre-arrival declarations: the answer to ``POST /v1/declarations`` and what a border check
shows of the declaration presented."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tsela.api.schemas.common import Day, Moment, Out

__all__ = ["DeclarationOut", "DeclaredAnswersOut", "DeclaredChildOut", "PurposeOut"]


class PurposeOut(Out):
    """A purpose of a journey a declaration can give (reference/declaration_purposes.toml)."""

    code: str = Field(examples=["family"])
    en: str = Field(description="In English words")
    st: str = Field(description="In Sesotho words")


class DeclarationOut(Out):
    """A declaration kept: the reference to write down and the QR code to show at the desk."""

    reference: str = Field(
        description="To write down: the officer can type it instead of the QR code",
        examples=["K7QM-X3TP"],
    )
    valid_until: Moment = Field(description="72 hours after it was made; it serves one crossing")
    qr_text: str = Field(description="What the QR code holds: a token signed by the node")
    qr_png: str = Field(description="The QR code as a PNG image, base64-encoded")


class DeclaredChildOut(Out):
    name: str
    birth_date: Day


class DeclaredAnswersOut(Out):
    """The traveller's answers, shown on the check that accepted their declaration."""

    reference: str
    made_at: Moment
    valid_until: Moment
    port: str = Field(description="The port the traveller expected to cross at")
    direction: Literal["entry", "exit"]
    purpose: str = Field(description="A code of reference/declaration_purposes.toml")
    purpose_words: str = Field(description="The purpose in English words")
    address: str = Field(description="The address at destination")
    stay_days: int = Field(description="The expected length of stay, in days")
    children: list[DeclaredChildOut]
