"""Languages of the web pages: English and Sesotho, through standard gettext catalogs.

Every string a person reads on a page is a gettext message: ``{{ _("...") }}`` in the
templates, ``N_("...")`` for labels kept in Python (translated when rendered). The
catalogs are ``locale/<lang>/LC_MESSAGES/messages.po``, read with Babel when first
needed (no compile step to forget). Updating them after changing a template:

    .venv/bin/pybabel extract -F src/tsela/web/babel.cfg -k N_ \
        -o src/tsela/web/locale/messages.pot src/tsela/web
    .venv/bin/pybabel update -i src/tsela/web/locale/messages.pot \
        -d src/tsela/web/locale --no-fuzzy-matching

The language comes from ``?lang=`` (remembered in a cookie), then the cookie, then the
browser's Accept-Language, then English.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LANGUAGES: dict[str, str] = {"en": "English", "st": "Sesotho"}
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "tsela_lang"
LANG_PARAM = "lang"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, when rendered."""
    return message


def _catalog_path(lang: str) -> resources.abc.Traversable:
    return resources.files("tsela.web") / "locale" / lang / "LC_MESSAGES" / "messages.po"


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of a language (English is the source language)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    path = _catalog_path(lang)
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy (unreviewed) entries are left out, as gettext does
    buf.seek(0)
    return Translations(buf, domain="messages")


def from_accept_language(header: str) -> str | None:
    """The first supported language in an Accept-Language header, by quality."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else None


def choose_language(request: Request) -> tuple[str, bool]:
    """The page language and whether it was chosen just now (so the cookie must be set)."""
    asked = request.query_params.get(LANG_PARAM, "").strip().lower()
    if asked in LANGUAGES:
        return asked, asked != request.cookies.get(LANG_COOKIE)
    remembered = request.cookies.get(LANG_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered, False
    negotiated = from_accept_language(request.headers.get("accept-language", ""))
    return negotiated or DEFAULT_LANGUAGE, False
