"""The catalogue of reasons a border check gives: codes with their severity and their words.

Pure: reads ``reference/reasons.toml``, the one place where each reason's severity and its
words in English and Sesotho are written. A check makes a ``Reason`` from a code, the
case (``variant``) and the facts (``params``); the severity comes from the catalogue, never
from the words. The English words travel with the reason (the API and the stored check
keep them); any other language is said at the edge with ``words(reason, lang)``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Any

from tsela.reference import country_name

LANGUAGES = ("en", "st")
DEFAULT_LANGUAGE = "en"


class Severity(IntEnum):
    INFO = 0  # shown, does not change the decision
    REFER = 1  # send to secondary inspection
    DENY = 2  # recommend refusal


class CatalogueError(ValueError):
    """The catalogue file is wrong, or a reason was asked for that it does not have."""


@dataclass(frozen=True)
class ReasonText:
    """One case of a code: its severity and its words in each language."""

    code: str
    variant: str
    severity: Severity
    words: Mapping[str, str]  # language -> template
    terms: Mapping[str, str]  # param -> term group
    facts: frozenset[str] = frozenset()  # the {names} in the words


@dataclass(frozen=True)
class Reason:
    code: str  # stable identifier, e.g. "document.expired"
    severity: Severity
    message: str  # in English words an officer understands
    variant: str = ""  # the case of the code, e.g. "exit", "revoked"
    params: Mapping[str, str] = field(default_factory=dict)  # the facts in the words

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.name.lower(),
            "message": self.message,
            "variant": self.variant,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class Catalogue:
    texts: Mapping[tuple[str, str], ReasonText]
    terms: Mapping[str, Mapping[str, Mapping[str, str]]]  # group -> code -> lang -> word

    def text(self, code: str, variant: str = "") -> ReasonText:
        try:
            return self.texts[(code, variant)]
        except KeyError:
            case = f" ({variant})" if variant else ""
            raise CatalogueError(f"no reason {code}{case} in the catalogue") from None


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def _placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def parse(text: str) -> Catalogue:
    """The catalogue from its TOML text; CatalogueError names the first problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"reasons catalogue: {exc}") from None
    texts: dict[tuple[str, str], ReasonText] = {}
    for code, entry in doc.get("reasons", {}).items():
        base = {k: v for k, v in entry.items() if k != "variants"}
        cases = [("", base)] if "en" in base else []
        cases += [(name, base | v) for name, v in entry.get("variants", {}).items()]
        if not cases:
            raise CatalogueError(f"reason {code}: no words, and no variants")
        for variant, merged in cases:
            where = f"reason {code}" + (f" ({variant})" if variant else "")
            missing = [k for k in ("severity", *LANGUAGES) if k not in merged]
            if missing:
                raise CatalogueError(f"{where}: missing {', '.join(missing)}")
            try:
                severity = Severity[str(merged["severity"]).upper()]
            except KeyError:
                raise CatalogueError(f"{where}: severity {merged['severity']!r}") from None
            words = {lang: str(merged[lang]) for lang in LANGUAGES}
            names = _placeholders(words[DEFAULT_LANGUAGE])
            for lang, template in words.items():
                if _placeholders(template) != names:
                    raise CatalogueError(
                        f"{where}: the {lang} words name other facts than the English "
                        f"({sorted(_placeholders(template))} against {sorted(names)})"
                    )
            terms = dict(merged.get("terms", {}))
            unknown = set(terms) - names
            if unknown:
                raise CatalogueError(f"{where}: terms for facts not in the words: {unknown}")
            texts[(code, variant)] = ReasonText(
                code, variant, severity, words, terms, frozenset(names)
            )
    return Catalogue(texts, doc.get("terms", {}))


@cache
def catalogue() -> Catalogue:
    """The catalogue shipped with Tsela."""
    text = resources.files("tsela.reference").joinpath("reasons.toml").read_text("utf-8")
    return parse(text)


def _term(group: str, value: str, lang: str) -> str:
    found = catalogue().terms.get(group, {}).get(value, {})
    if lang in found:
        return found[lang]
    if DEFAULT_LANGUAGE in found:
        return found[DEFAULT_LANGUAGE]
    if group == "country":
        return country_name(value) or value
    return value


def _terms(group: str, value: str, lang: str) -> str:
    """A fact that is a term, or a list of terms ("a, b"; "a|b" says "a or b"): each said in
    ``lang``, the "or" taken from the group's own ``or`` term."""
    if "," not in value and "|" not in value:
        return _term(group, value, lang)
    either = f" {_term(group, 'or', lang)} "
    return ", ".join(
        either.join(_term(group, code.strip(), lang) for code in item.split("|"))
        for item in value.split(",")
    )


def render(text: ReasonText, params: Mapping[str, str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The words of ``text`` in ``lang`` (English if it has none) with the facts filled in;
    an optional part ``[...]`` only when every fact it names has a value."""
    template = text.words.get(lang) or text.words[DEFAULT_LANGUAGE]
    said = {
        name: _terms(text.terms[name], value, lang) if name in text.terms and value else value
        for name, value in params.items()
    }

    def optional(match: re.Match[str]) -> str:
        part = match.group(1)
        return part if all(said.get(n) for n in _placeholders(part)) else ""

    template = _OPTIONAL.sub(optional, template)
    return _PLACEHOLDER.sub(lambda m: said.get(m.group(1), ""), template)


def reason(code: str, variant: str = "", /, **params: object) -> Reason:
    """A reason from the catalogue: its severity, and its English words with ``params``."""
    text = catalogue().text(code, variant)
    facts = {k: "" if v is None else str(v) for k, v in params.items()}
    missing = text.facts - facts.keys()
    if missing:
        raise CatalogueError(f"reason {code}: facts missing: {', '.join(sorted(missing))}")
    return Reason(code, text.severity, render(text, facts), variant, facts)


def _known(given: Reason | Mapping[str, Any]) -> tuple[ReasonText, dict[str, str]] | None:
    params: object
    if isinstance(given, Reason):
        code, variant, params = given.code, given.variant, given.params
    else:
        code, variant = str(given.get("code", "")), str(given.get("variant") or "")
        params = given.get("params")
    text = catalogue().texts.get((code, variant))
    if text is None or not isinstance(params, Mapping):
        return None
    return text, {str(k): str(v) for k, v in params.items()}


def words(given: Reason | Mapping[str, Any], lang: str) -> str:
    """A reason in the words of ``lang``: a ``Reason``, or a reason as the API answers and
    the database keeps it. One kept before reasons carried their facts (no ``params``), or
    whose code the catalogue no longer has, is said as it was written (in English)."""
    known = _known(given)
    if known is None:
        return given.message if isinstance(given, Reason) else str(given.get("message", ""))
    return render(*known, lang)


def language_of(given: Reason | Mapping[str, Any], lang: str) -> str:
    """The language ``words(given, lang)`` answers in (English for a reason kept as words)."""
    return lang if lang in LANGUAGES and _known(given) is not None else DEFAULT_LANGUAGE
