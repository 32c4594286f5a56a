"""The watchlists: fictional entries and a handful of the synthetic travellers, some spelt
in the other Sesotho orthography.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from tsela.synth.extras.common import DOCUMENT_LIST, PROTECT_LIST, WANTED_LIST
from tsela.synth.extras.permit_plan import ages, day_plus
from tsela.synth.generator import Population, Profile
from tsela.synth.names import GROUPS, name_list, south_african_spelling

WANTED_REASONS = (
    "armed robbery",
    "murder",
    "stock theft",
    "theft of copper cable",
    "illegal mining",
    "fraud",
    "assault with intent to do grievous bodily harm",
    "dealing in drugs",
    "housebreaking and theft",
    "hijacking of a vehicle",
)
STATIONS = (
    "Welkom",
    "Ladybrand",
    "Ficksburg",
    "Bloemfontein Central",
    "Park Road",
    "Hillbrow",
    "Rustenburg",
    "Carletonville",
    "Bethlehem",
    "Wepener",
)
PROTECT_REASONS = (
    "Reported missing by the family in {district}; believed recruited with a false job offer "
    "in {city}. Protect: do not detain; call the counter-trafficking desk.",
    "Possible victim of labour trafficking (farm work, {city}); social worker's referral. "
    "Protect: interview apart from any companion.",
    "Reported missing by the school in {district}; may be travelling with an older man. "
    "Protect: call the counter-trafficking desk.",
)
DISTRICTS = ("Maseru", "Leribe", "Berea", "Mafeteng", "Mohale's Hoek", "Quthing", "Butha-Buthe")
CITIES = ("Johannesburg", "Bloemfontein", "Welkom", "Ficksburg", "Cape Town", "Pretoria")


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split())


def _other_spelling(name: str) -> str:
    """A Lesotho-spelt name as a South African list would write it (title case)."""
    return south_african_spelling(_title(name))


def _fictional_people(
    rng: np.random.Generator, n: int, today: date, *, women_share: float, max_age: int
) -> list[tuple[str, str, str]]:
    """(name, birth date, nationality) of people who are not in the population."""
    groups = list(GROUPS)
    weights = np.array([0.55, 0.2, 0.1, 0.15])
    out = []
    for _ in range(n):
        g = groups[int(rng.choice(len(groups), p=weights))]
        kind = "given_female" if rng.random() < women_share else "given_male"
        given = name_list(g, kind)
        names = [given[int(rng.integers(0, len(given)))]]
        if rng.random() < 0.4:
            names.append(given[int(rng.integers(0, len(given)))])
        surnames = name_list(g, "surnames")
        surname = surnames[int(rng.integers(0, len(surnames)))]
        zaf = rng.random() < (0.35 if g == "sesotho" else 0.8)
        nationality = "ZAF" if zaf else ("LSO" if g == "sesotho" else "ZWE")
        full = " ".join([*names, surname])
        if zaf and g == "sesotho":
            full = south_african_spelling(full)
        born = today - timedelta(days=int(rng.uniform(18, max_age) * 365.25))
        out.append((full, born.isoformat(), nationality))
    return out


@dataclass
class WatchlistPlan:
    wanted: str  # CSV text
    protect: str
    documents: str
    listed: list[tuple[str, int]]  # (list name, person index)


def _birth(pop: Population, i: int) -> str:
    return str(pop.birth_date[i].astype("datetime64[D]"))


def plan_watchlists(
    pop: Population, present: np.ndarray, today: date, seed: int, exclude: set[int]
) -> WatchlistPlan:
    rng = np.random.default_rng([seed, 5])
    idx = np.arange(len(pop))
    eligible = (
        present
        & (pop.nationality == "LSO")
        & np.isin(pop.profile, [Profile.VISITOR, Profile.TRADER])
        & (pop.lost_doc_number == "")
        & ~np.isin(idx, list(exclude))
    )
    respellable = np.zeros(len(pop), dtype=bool)
    for i in idx[eligible]:
        name = f"{pop.given_names[i]} {pop.primary_name[i]}"
        respellable[i] = _other_spelling(name) != _title(name)
    listed: list[tuple[str, int]] = []
    taken: set[int] = set()

    def pick(mask: np.ndarray, k: int) -> list[int]:
        pool = [int(i) for i in idx[mask] if int(i) not in taken]
        if not pool:
            return []
        got = [int(i) for i in rng.choice(pool, size=min(k, len(pool)), replace=False)]
        taken.update(got)
        return got

    # SAPS wanted persons: fictional people and four travellers, two of them spelt the
    # South African way (as a South African list writes them), one known by birth year only.
    wanted_rows = []
    for k, i in enumerate(pick(eligible & respellable, 2) + pick(eligible, 2)):
        name = f"{pop.given_names[i]} {pop.primary_name[i]}"
        shown = _other_spelling(name) if k < 2 else _title(name)
        birth = _birth(pop, i)[:4] if k == 3 else _birth(pop, i)
        crime = WANTED_REASONS[int(rng.integers(0, len(WANTED_REASONS)))]
        station = STATIONS[int(rng.integers(0, len(STATIONS)))]
        wanted_rows.append(
            {
                "id": f"SYN-W-{k + 1:04d}",
                "name": shown,
                "birth_date": birth,
                "nationality": "LSO",
                "reason": f"Wanted for {crime} ({station} CAS {100 + k}/{today:%m/%Y})",
                "documents": str(pop.doc_number[i]) if k == 2 else "",
            }
        )
        listed.append((WANTED_LIST, i))
    for k, (name, born, nat) in enumerate(
        _fictional_people(rng, 60, today, women_share=0.12, max_age=60), start=len(wanted_rows)
    ):
        crime = WANTED_REASONS[int(rng.integers(0, len(WANTED_REASONS)))]
        station = STATIONS[int(rng.integers(0, len(STATIONS)))]
        case = f"{station} CAS {int(rng.integers(10, 999))}/{int(rng.integers(1, 13)):02d}/"
        case += str(today.year - int(rng.integers(0, 6)))
        wanted_rows.append(
            {
                "id": f"SYN-W-{k + 1:04d}",
                "name": name,
                "birth_date": born,
                "nationality": nat,
                "reason": f"Wanted for {crime} ({case})",
                "documents": "",
            }
        )

    # Persons to protect: young women reported missing, fictional and three travellers.
    women = eligible & (pop.sex == "F")
    young = women & (ages(pop, today) < 30)
    protect_rows = []
    chosen = pick(young & respellable, 1)
    chosen += pick(young if young.any() else women, 3 - len(chosen))
    for k, i in enumerate(chosen):
        name = f"{pop.given_names[i]} {pop.primary_name[i]}"
        reason = PROTECT_REASONS[k % len(PROTECT_REASONS)].format(
            district=DISTRICTS[int(rng.integers(0, len(DISTRICTS)))],
            city=CITIES[int(rng.integers(0, len(CITIES)))],
        )
        protect_rows.append(
            {
                "id": f"SYN-P-{k + 1:04d}",
                "name": _other_spelling(name) if k == 0 else _title(name),
                "birth_date": _birth(pop, i),
                "nationality": "LSO",
                "reason": reason,
                "documents": "",
            }
        )
        listed.append((PROTECT_LIST, i))
    for k, (name, born, nat) in enumerate(
        _fictional_people(rng, 25, today, women_share=0.85, max_age=32), start=len(protect_rows)
    ):
        reason = PROTECT_REASONS[k % len(PROTECT_REASONS)].format(
            district=DISTRICTS[int(rng.integers(0, len(DISTRICTS)))],
            city=CITIES[int(rng.integers(0, len(CITIES)))],
        )
        protect_rows.append(
            {
                "id": f"SYN-P-{k + 1:04d}",
                "name": name,
                "birth_date": born,
                "nationality": nat,
                "reason": reason,
                "documents": "",
            }
        )

    # Lost and stolen documents: every document the population reported lost or stolen,
    # two current passports still reported stolen (found again, never cleared), and
    # documents of people who never came to the border.
    doc_rows = []
    for i in idx[present & (pop.lost_doc_number != "")]:
        reported = day_plus(today, -int(rng.integers(30, 700)))
        doc_rows.append(
            {
                "issuing_state": str(pop.nationality[i]),
                "number": str(pop.lost_doc_number[i]),
                "status": str(pop.lost_doc_status[i]),
                "reported_on": reported.isoformat(),
            }
        )
    for i in pick(eligible, 2):
        doc_rows.append(
            {
                "issuing_state": str(pop.nationality[i]),
                "number": str(pop.doc_number[i]),
                "status": "stolen",
                "reported_on": day_plus(today, -int(rng.integers(60, 400))).isoformat(),
            }
        )
        listed.append((DOCUMENT_LIST, i))
    for _ in range(80):
        state = "LSO" if rng.random() < 0.75 else "ZAF"
        # Letter C: never used by the population's documents (A current, B replaced).
        number = (
            ("R" if state == "LSO" else "A") + "C" + str(int(rng.integers(1_000_000, 9_999_999)))
        )
        doc_rows.append(
            {
                "issuing_state": state,
                "number": number,
                "status": "stolen" if rng.random() < 0.4 else "lost",
                "reported_on": day_plus(today, -int(rng.integers(10, 900))).isoformat(),
            }
        )
    return WatchlistPlan(
        wanted=_csv(wanted_rows),
        protect=_csv(protect_rows),
        documents=_csv(doc_rows),
        listed=listed,
    )


def _csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["name"])
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
