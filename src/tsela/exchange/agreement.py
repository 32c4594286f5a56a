"""The exchange agreement as data: per record kind, the fields that may cross the border.

Data minimisation under POPIA s72 (transborder flows) and Lesotho's Data Protection Act 2011:
a record leaves only with the fields the two countries agreed on, listed in
``reference/exchange_agreement.toml``. Projection happens when a record is written to the
outbox and again when it is served (defence in depth: an agreement narrowed meanwhile holds
for the backlog too). A kind the agreement does not list never leaves.

Pure: the file's text is parsed by ``parse``; ``load`` reads the packaged one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any


class AgreementError(ValueError):
    """The agreement file is malformed; the message says where."""


@dataclass(frozen=True)
class KindTerms:
    kind: str
    fields: frozenset[str]
    purpose: str


@dataclass(frozen=True)
class Agreement:  # frozen, but with a cached digest (a dataclass with __dict__)
    version: str
    parties: tuple[str, ...]
    kinds: Mapping[str, KindTerms]

    @functools.cached_property
    def digest(self) -> str:
        """Short fingerprint of the terms (the fields per kind): records chained under other
        terms are projected again when served."""
        terms = {k: sorted(t.fields) for k, t in sorted(self.kinds.items())}
        return hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).hexdigest()[:16]

    def allows(self, kind: str) -> bool:
        return kind in self.kinds

    def project(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Only the agreed fields of ``payload``; nothing at all for a kind not agreed."""
        terms = self.kinds.get(kind)
        if terms is None:
            return {}
        allowed = terms.fields
        return {k: v for k, v in payload.items() if k in allowed}

    def outside(self, kind: str, payload: Mapping[str, Any]) -> list[str]:
        """The fields of ``payload`` the agreement does not let cross."""
        terms = self.kinds.get(kind)
        allowed = terms.fields if terms else frozenset()
        return sorted(k for k in payload if k not in allowed)


def parse(text: str) -> Agreement:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgreementError(f"the agreement file is not valid TOML: {exc}") from None
    head = data.get("agreement", {})
    kinds: dict[str, KindTerms] = {}
    for name, spec in data.get("kinds", {}).items():
        fields = spec.get("fields") if isinstance(spec, dict) else None
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise AgreementError(f"kind {name!r}: 'fields' must be a list of field names")
        if len(set(fields)) != len(fields):
            raise AgreementError(f"kind {name!r}: a field is listed twice")
        kinds[name] = KindTerms(name, frozenset(fields), str(spec.get("purpose", "")))
    return Agreement(
        version=str(head.get("version", "")),
        parties=tuple(head.get("parties", ())),
        kinds=kinds,
    )


@functools.cache
def load() -> Agreement:
    """The agreement shipped with Tsela (reference/exchange_agreement.toml)."""
    text = resources.files("tsela.reference").joinpath("exchange_agreement.toml").read_text()
    return parse(text)
