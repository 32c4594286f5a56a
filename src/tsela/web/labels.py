"""Words people read for codes kept in data: permit states, types, evidence, actions.

Marked with ``N_`` so Babel extracts them; templates translate them when rendering. A code
without a label here (a new permit type added to the data) shows the data's own name.
"""

from __future__ import annotations

from typing import Any

from tsela.domain.permits import PermitStatus
from tsela.web.i18n import LANGUAGES, N_, choose_language, translations

S = PermitStatus

STATUS: dict[str, tuple[str, str]] = {  # status -> (label, tone of its badge)
    S.DRAFT: (N_("Draft"), "info"),
    S.SUBMITTED: (N_("Submitted"), "info"),
    S.EVIDENCE_REQUESTED: (N_("Evidence requested"), "warn"),
    S.APPROVED: (N_("Approved"), "ok"),
    S.REJECTED: (N_("Rejected"), "bad"),
    S.ISSUED: (N_("Issued"), "ok"),
    S.SUSPENDED: (N_("Suspended"), "warn"),
    S.REVOKED: (N_("Revoked"), "bad"),
    S.EXPIRED: (N_("Expired"), "warn"),
}

# The button that moves a permit to a state.
ACTION: dict[str, str] = {
    S.SUBMITTED: N_("Submit"),
    S.EVIDENCE_REQUESTED: N_("Request evidence"),
    S.APPROVED: N_("Approve"),
    S.REJECTED: N_("Reject"),
    S.ISSUED: N_("Issue"),
    S.SUSPENDED: N_("Suspend"),
    S.REVOKED: N_("Revoke"),
    S.EXPIRED: N_("Record as expired"),
}

PERMIT_TYPE: dict[str, str] = {
    "LSP": N_("Lesotho Special Permit"),
    "LEP": N_("Lesotho Exemption Permit"),
    "STUDY": N_("Cross-border study permit"),
    "BUSINESS": N_("Business establishment permit"),
    "SEASONAL": N_("Seasonal farm-work permit"),
    "WORK": N_("Employment permit"),
    "FCC": N_("Frequent-crosser card (border resident)"),
}

EVIDENCE: dict[str, str] = {
    "passport": N_("Passport"),
    "population_register": N_("Population register extract"),
    "police_clearance_ls": N_("Police clearance (Lesotho)"),
    "police_clearance_za": N_("Police clearance (South Africa)"),
    "employer_affidavit": N_("Employer's affidavit"),
    "tax_registration": N_("Tax registration"),
    "company_registration": N_("Company registration"),
    "institution_registration": N_("Registration at a school or university"),
    "proof_of_funds": N_("Proof of funds"),
    "business_plan": N_("Business plan"),
    "employment_contract": N_("Employment contract"),
    "proof_of_residence": N_("Proof of residence"),
}

COUNTRY: dict[str, str] = {
    "LSO": N_("Lesotho"),
    "ZAF": N_("South Africa"),
}

NODE_COUNTRY = {"LS": "LSO", "ZA": "ZAF"}  # the country each node belongs to

RIGHTS: dict[str, str] = {
    "work": N_("work"),
    "study": N_("study"),
    "business": N_("run a business"),
    "reside": N_("reside"),
    "fast_lane": N_("fast lane at the border"),
}

# Severity of a reason given by the border check.
SEVERITY: dict[str, tuple[str, str]] = {
    "deny": (N_("DENY"), "bad"),
    "refer": (N_("REFER"), "warn"),
    "info": (N_("INFO"), "info"),
}


# Reasons of the border check whose words the pages translate (the reason's message, in
# English, stays beside them as the detail). By code; %(country)s is the reporting country.
def severity_label(severity: str) -> str:
    return SEVERITY.get(severity, (severity.upper(), "info"))[0]


def severity_tone(severity: str) -> str:
    return SEVERITY.get(severity, (severity, "info"))[1]


def status_label(status: str) -> str:
    return STATUS.get(status, (status, "info"))[0]


def status_tone(status: str) -> str:
    return STATUS.get(status, (status, "info"))[1]


def type_label(code: str, fallback: str = "") -> str:
    return PERMIT_TYPE.get(code, fallback or code)


def evidence_label(kind: str) -> str:
    return EVIDENCE.get(kind, kind.replace("_", " "))


def evidence_lacking(lacking: Any, lang: str) -> str:
    """What evidence is still missing (``EvidenceRule.lacking``: for each thing lacking, the
    groups of kinds any of which would do), said in ``lang`` by the evidence's words."""
    t = translations(lang)

    def group(kinds: Any) -> str:
        return " + ".join(t.gettext(evidence_label(str(k))) for k in kinds)

    out = []
    for options in lacking:
        if len(options) == 1:
            out.append(group(options[0]))
        else:
            alternatives = (" " + t.gettext("or") + " ").join(group(g) for g in options)
            out.append(t.gettext(ONE_OF) % {"options": alternatives})
    return ", ".join(out)


ONE_OF = N_("one of: %(options)s")


def language_of(request: Any) -> str:
    """The language of the page being answered."""
    return choose_language(request)[0]


def country_label(code: str) -> str:
    return COUNTRY.get(code, code)


def node_label(node: str) -> str:
    return country_label(NODE_COUNTRY.get(node, node))


def issued_by(node: str | None) -> dict[str, Any] | None:
    """Which country issued a permit, for answers read outside the web pages (the API, the
    CLI): the node, its country's code, and the country's name and "Issued by ..." in every
    language of the pages (English and Sesotho)."""
    if not node:
        return None
    country = NODE_COUNTRY.get(node)
    names: dict[str, str] = {}
    words: dict[str, str] = {}
    for lang in LANGUAGES:
        t = translations(lang)
        names[lang] = t.gettext(country_label(country)) if country else node
        words[lang] = t.gettext(ISSUED_BY) % {"country": names[lang]}
    return {"node": node, "country": country, "name": names, "words": words}


ISSUED_BY = N_("Issued by %(country)s")


def right_label(code: str) -> str:
    return RIGHTS.get(code, code)


def action_label(target: str) -> str:
    return ACTION.get(target, target)


FILTERS = {
    "status_label": status_label,
    "status_tone": status_tone,
    "type_label": type_label,
    "evidence_label": evidence_label,
    "country_label": country_label,
    "right_label": right_label,
    "node_label": node_label,
    "action_label": action_label,
    "severity_label": severity_label,
    "severity_tone": severity_tone,
}


# Identity review (issue 17): the compared fields and the level codes of the model
# (tsela.domain.identity.COMPARISONS), said in words; the pair statuses.
IDENTITY_FIELD: dict[str, str] = {
    "surname": N_("Surname"),
    "given_name": N_("Given names"),
    "birth_date": N_("Birth date"),
    "sex": N_("Sex"),
    "nationality": N_("Nationality"),
    "document": N_("Document number"),
}

IDENTITY_LEVEL: dict[str, str] = {
    "missing": N_("missing on one record"),
    "exact": N_("the same"),
    "close": N_("nearly the same spelling"),
    "similar": N_("a similar spelling"),
    "reversed": N_("surname and given name swapped"),
    "swapped": N_("day and month swapped"),
    "typo": N_("one character differs"),
    "year": N_("only the year is the same"),
    "differs": N_("different"),
}

IDENTITY_STATUS: dict[str, tuple[str, str]] = {  # status -> (label, tone of its badge)
    "pending": (N_("Waiting for review"), "warn"),
    "deferred": (N_("Deferred"), "info"),
    "auto": (N_("Linked by the model"), "ok"),
    "linked": (N_("Linked by a reviewer"), "ok"),
    "rejected": (N_("Not the same person"), "bad"),
}
