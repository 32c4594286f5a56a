"""Three-letter codes that may stand for a state or organisation in an MRZ.

ICAO Doc 9303 uses ISO 3166-1 alpha-3 country codes (taken from ``pycountry``, not typed
here) plus a few codes of its own, listed below from ICAO Doc 9303 Part 3 (Specifications
common to all MRTDs), section 5 "Codes for nationality, place of birth, location of issuing
State/authority and other purposes". In the MRZ a code shorter than three letters is padded
with fillers (Germany is ``D<<``).
"""

from __future__ import annotations

from functools import cache

import pycountry

# ICAO Doc 9303 Part 3, section 5 (eighth edition, 2021).
ICAO_SPECIAL_CODES: dict[str, str] = {
    "D": "Germany",
    "EUE": "European Union",
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "UNA": "Specialized agency of the United Nations or one of its officials",
    "UNK": "Resident of Kosovo with a travel document issued by UNMIK",
    "UNO": "United Nations or one of its officials",
    "XBA": "African Development Bank",
    "XIM": "African Export-Import Bank",
    "XCC": "Caribbean Community (CARICOM) or one of its emissaries",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa (COMESA)",
    "XEC": "Economic Community of West African States (ECOWAS)",
    "XPO": "International Criminal Police Organization (INTERPOL)",
    "XES": "Organisation of Eastern Caribbean States (OECS)",
    "XMP": "Parliamentary Assembly of the Mediterranean",
    "XOM": "Sovereign Military Order of Malta or one of its emissaries",
    "XDC": "Southern African Development Community (SADC)",
    "XXA": "Stateless person (1954 Convention relating to the Status of Stateless Persons)",
    "XXB": "Refugee (1951 Convention relating to the Status of Refugees, 1967 Protocol)",
    "XXC": "Refugee, other than under the 1951 Convention (XXB)",
    "XXX": "Person of unspecified nationality",
    # The fictional state of every specimen document in ICAO Doc 9303.
    "UTO": "Utopia (ICAO specimen documents)",
}

SPECIMEN_STATE = "UTO"

# Codes printed on real documents that are in neither ISO 3166-1 nor Doc 9303 Part 3.
# Accepted so that the traveller is not refused for it, with a warning naming the code.
CODES_IN_USE: dict[str, str] = {
    "RKS": "Kosovo (code on passports of the Republic of Kosovo since 2008)",
}


# ICAO codes for a state that ISO 3166-1 writes otherwise: Tsela stores ISO's, so that a
# scanned "D<<" and a typed "DEU" are the same country (and the same document).
ISO_EQUIVALENT: dict[str, str] = {"D": "DEU"}


@cache
def known_codes() -> dict[str, str]:
    """Every code an MRZ may carry -> its English name."""
    codes = {c.alpha_3: c.name for c in pycountry.countries}
    codes.update(ICAO_SPECIAL_CODES)
    codes.update(CODES_IN_USE)
    return codes


def is_known(code: str) -> bool:
    """True for an ISO 3166-1 alpha-3 code or one of ICAO's own codes (without fillers)."""
    return code in known_codes()


def country_name(code: str) -> str:
    """The English name of a code, or "" when it is unknown."""
    return known_codes().get(code, "")


def canonical(code: str) -> str:
    """The code Tsela stores for an MRZ code: ISO's where ICAO's differs (D -> DEU)."""
    return ISO_EQUIVALENT.get(code, code)


def iso_country(code: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of the country an MRZ code names; None for ICAO's codes of
    organisations, stateless persons and refugees (UNO, EUE, XXA, XXB...) and for codes in
    use outside ISO 3166-1 (RKS)."""
    code = canonical(code)
    return code if pycountry.countries.get(alpha_3=code) is not None else None
