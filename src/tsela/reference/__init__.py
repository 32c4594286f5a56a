"""Reference data shipped with Tsela (ports of entry, countries, rule sets).

Files live beside this module; see SOURCES.md for where each fact comes from.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pycountry

from tsela.domain.icao_codes import country_name as icao_name


@dataclass(frozen=True)
class PortInfo:
    code: str
    name_za: str
    name_ls: str
    za_province: str
    ls_district: str
    normal_hours: str
    hours_source: str
    confidence: str
    kind: str = "land"

    @property
    def display_name(self) -> str:
        return port_display_name(self.name_za, self.name_ls)


def port_display_name(name_za: str, name_ls: str) -> str:
    """Both countries' names of a post where they differ ("Ficksburg Bridge / Maputsoe
    Bridge"), the same in every language, so officers of both sides recognise it."""
    return name_za if name_za == name_ls else f"{name_za} / {name_ls}"


class UnknownPortError(KeyError):
    def __str__(self) -> str:
        code = self.args[0]
        known = ", ".join(sorted(ports()))
        return f"unknown port {code!r}: known ports are {known}"


def reference_file(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@cache
def ports() -> dict[str, PortInfo]:
    """The ports of entry between Lesotho and South Africa, by Tsela code."""
    rows = csv.DictReader(reference_file("ports.csv").splitlines())
    out = {row["code"]: PortInfo(**row) for row in rows}
    out["MSX"] = PortInfo(
        code="MSX",
        name_za="Moshoeshoe I International Airport",
        name_ls="Moshoeshoe I International Airport",
        za_province="",
        ls_district="Maseru",
        normal_hours="",
        hours_source="",
        confidence="high",
        kind="air",
    )
    return out


def port(code: str) -> PortInfo:
    try:
        return ports()[code.strip().upper()]
    except KeyError:
        raise UnknownPortError(code) from None


def country_name(alpha3: str) -> str | None:
    """The English name of an ISO 3166-1 alpha-3 code, or of a code ICAO Doc 9303 adds
    (D, XXA, UNO, EUE...: documents carry them); None when unknown."""
    return icao_name(alpha3.upper()) or None


def is_country(alpha3: str) -> bool:
    """True for an ISO 3166-1 alpha-3 country code only."""
    return pycountry.countries.get(alpha_3=alpha3.upper()) is not None
