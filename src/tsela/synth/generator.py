"""A deterministic, realistic synthetic population of travellers and their crossings.

Who crosses between Lesotho and South Africa, and how:

- **commuters** living near Maseru Bridge or Ficksburg/Maputsoe cross most weekdays and come
  back the same evening;
- **migrant workers** work in South Africa in spells of three to four weeks (longer with a
  permit), come home at month end, and all go home for December;
- **students** are in South Africa during the academic terms;
- **traders** make short trips once or twice a week;
- **visitors** (family, shopping, health) travel a few times a year, most at Easter and in
  December; South Africans and others visit Lesotho the same way;
- a small share of stays overrun the 30-day visitor limit, and some documents are reported
  lost or stolen.

Each trip produces the records both sides keep: leaving one country and entering the other
at the same port a few minutes later, then the reverse on the way back. A record's ``node``
is the country whose officers recorded it, so the data look like two nodes after exchange.

Everything is drawn from one seeded generator: the same seed gives the same data.
Crossings come out in chunks so that ten million of them never sit in memory as objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum

import numpy as np
from dateutil.easter import easter

from tsela.synth.names import GROUPS, mrz_name, name_list, south_african_spelling


class Profile(IntEnum):
    COMMUTER = 0
    MIGRANT_WORKER = 1
    STUDENT = 2
    TRADER = 3
    VISITOR = 4
    VISITOR_TO_LESOTHO = 5


# Share of each profile among Lesotho nationals (residents of Lesotho).
LSO_PROFILES = {
    Profile.COMMUTER: 0.04,
    Profile.MIGRANT_WORKER: 0.22,
    Profile.STUDENT: 0.05,
    Profile.TRADER: 0.05,
    Profile.VISITOR: 0.64,
}
NATIONALITIES = {"LSO": 0.80, "ZAF": 0.15, "other": 0.05}
OTHER_NATIONALITIES = ["ZWE", "MOZ", "MWI", "SWZ", "BWA", "NGA", "CHN", "IND", "GBR", "DEU"]

# Share of traffic by port (Maseru Bridge is South Africa's second busiest port of entry;
# Ficksburg/Maputsoe the other 24-hour crossing). Approximate, for realism only.
PORT_WEIGHTS = {
    "MSU": 0.46,
    "FKB": 0.28,
    "VRG": 0.06,
    "CAL": 0.05,
    "QNK": 0.03,
    "TLB": 0.03,
    "MKB": 0.02,
    "PKB": 0.02,
    "SPG": 0.015,
    "SNP": 0.01,
    "RMG": 0.01,
    "ONK": 0.005,
    "MNP": 0.005,
    "BMN": 0.005,
}
PORT_CODES = list(PORT_WEIGHTS)

OVERSTAY_SHARE = 0.03  # of visitor and unpermitted worker stays
LOST_DOCUMENT_SHARE = 0.01
REFER_SHARE = 0.004

LSO, ZAF = 0, 1
COUNTRIES = ("LSO", "ZAF")
ENTRY, EXIT = 0, 1
DIRECTIONS = ("entry", "exit")


@dataclass(frozen=True)
class SynthConfig:
    persons: int = 2000
    start: date = date(2025, 1, 1)
    end: date = date(2026, 10, 31)
    seed: int = 2026
    chunk_size: int = 200_000

    def __post_init__(self) -> None:
        if self.persons < 1:
            raise ValueError(f"--persons must be at least 1, got {self.persons}")
        if self.end <= self.start:
            raise ValueError(f"the period is empty: end {self.end} is not after start {self.start}")
        if self.chunk_size < 1:
            raise ValueError("chunk size must be positive")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class Population:
    """Column arrays, one row per person (index = person number)."""

    primary_name: np.ndarray
    given_names: np.ndarray
    sex: np.ndarray  # "M" / "F"
    birth_date: np.ndarray  # datetime64[D]
    nationality: np.ndarray  # ISO alpha-3
    profile: np.ndarray  # Profile codes
    home_port: np.ndarray  # index into PORT_CODES
    has_permit: np.ndarray  # bool: worker/student with a permit
    doc_number: np.ndarray
    doc_expiry: np.ndarray  # datetime64[D]
    lost_doc_number: np.ndarray  # "" when the person never lost a document
    lost_doc_status: np.ndarray  # "lost" / "stolen" / ""
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.primary_name)


@dataclass
class CrossingChunk:
    person: np.ndarray  # int32 person index
    port: np.ndarray  # int16 index into PORT_CODES
    direction: np.ndarray  # int8 ENTRY/EXIT
    country: np.ndarray  # int8 LSO/ZAF: the country entered or left (= recording node)
    crossed_at: np.ndarray  # datetime64[s], UTC
    refer: np.ndarray  # bool: sent to secondary inspection

    def __len__(self) -> int:
        return len(self.person)


def _choice(rng: np.random.Generator, items: tuple[str, ...], n: int) -> np.ndarray:
    return np.asarray(items, dtype=object)[rng.integers(0, len(items), n)]


def make_population(cfg: SynthConfig) -> Population:
    rng = np.random.default_rng([cfg.seed, 1])
    n = cfg.persons
    nat_kind = rng.choice(3, size=n, p=list(NATIONALITIES.values()))
    nationality = np.where(nat_kind == 0, "LSO", np.where(nat_kind == 1, "ZAF", "XXX")).astype(
        object
    )
    others = nat_kind == 2
    nationality[others] = np.asarray(OTHER_NATIONALITIES, dtype=object)[
        rng.integers(0, len(OTHER_NATIONALITIES), int(others.sum()))
    ]
    sex = np.where(rng.random(n) < 0.5, "F", "M").astype(object)

    # Name origin: Basotho of both countries mostly carry Sesotho names; South Africans
    # are drawn from all four groups; other nationals get English names.
    group = np.zeros(n, dtype=np.int8)  # index into GROUPS
    lso = nationality == "LSO"
    zaf = nationality == "ZAF"
    group[lso] = rng.choice(4, size=int(lso.sum()), p=[0.9, 0.04, 0.01, 0.05])
    group[zaf] = rng.choice(4, size=int(zaf.sum()), p=[0.45, 0.35, 0.12, 0.08])
    group[others] = 3
    primary = np.empty(n, dtype=object)
    given = np.empty(n, dtype=object)
    for g, name in enumerate(GROUPS):
        for s, kind in (("F", "given_female"), ("M", "given_male")):
            mask = (group == g) & (sex == s)
            k = int(mask.sum())
            if not k:
                continue
            first = _choice(rng, name_list(name, kind), k)
            second = _choice(rng, name_list(name, kind), k)
            two = rng.random(k) < 0.35
            given[mask] = np.where(two, first + " " + second, first)
        mask = group == g
        primary[mask] = _choice(rng, name_list(name, "surnames"), int(mask.sum()))
    # South African Basotho write their Sesotho names in the South African orthography.
    za_sotho = zaf & (group == 0)
    respell = np.frompyfunc(south_african_spelling, 1, 1)
    if za_sotho.any():
        primary[za_sotho] = respell(primary[za_sotho])
        given[za_sotho] = respell(given[za_sotho])
    upper = np.frompyfunc(mrz_name, 1, 1)
    primary = np.asarray(upper(primary), dtype=object)
    given = np.asarray(upper(given), dtype=object)

    profile = np.full(n, Profile.VISITOR, dtype=np.int8)
    profile[lso] = rng.choice(
        list(LSO_PROFILES), size=int(lso.sum()), p=list(LSO_PROFILES.values())
    )
    profile[~lso] = np.where(
        rng.random(int((~lso).sum())) < 0.8, Profile.VISITOR_TO_LESOTHO, Profile.VISITOR
    )

    # Ages: workers 20-55, students 18-26, others 18-80.
    today = np.datetime64(cfg.end)
    age_days = (rng.uniform(18, 75, n) * 365.25).astype(np.int64)
    workers = profile == Profile.MIGRANT_WORKER
    age_days[workers] = (rng.uniform(20, 55, int(workers.sum())) * 365.25).astype(np.int64)
    students = profile == Profile.STUDENT
    age_days[students] = (rng.uniform(18, 26, int(students.sum())) * 365.25).astype(np.int64)
    birth_date = today - age_days.astype("timedelta64[D]")

    # Home port: commuters and traders live by the two busy bridges; others anywhere.
    weights = np.array(list(PORT_WEIGHTS.values()))
    home_port = rng.choice(len(PORT_CODES), size=n, p=weights / weights.sum()).astype(np.int16)
    local = (profile == Profile.COMMUTER) | (profile == Profile.TRADER)
    home_port[local] = rng.choice(2, size=int(local.sum()), p=[0.6, 0.4])

    has_permit = np.zeros(n, dtype=bool)
    has_permit[workers] = rng.random(int(workers.sum())) < 0.75
    has_permit[students] = True

    # Document numbers are unique per issuing state: a random affine permutation of the
    # 7-digit serial space (valid for up to 9 million persons), with another letter for old
    # documents that were reported lost or stolen.
    prefix = np.where(nationality == "LSO", "R", np.where(nationality == "ZAF", "A", "X"))
    space = 9_000_000
    if n > space:
        raise ValueError(f"at most {space:,} persons are supported, got {n:,}")
    a, b = 7_368_787, int(rng.integers(0, space))  # a is prime, so coprime with the space
    serial = 1_000_000 + (np.arange(n, dtype=np.int64) * a + b) % space
    doc_number = (prefix.astype(object) + "A" + serial.astype(str).astype(object)).astype(object)
    # Passports last ten years; some expire within the period and a few are already expired.
    doc_expiry = today + rng.integers(-60, 3650, n).astype("timedelta64[D]")
    lost = rng.random(n) < LOST_DOCUMENT_SHARE
    lost_doc_number = np.full(n, "", dtype=object)
    lost_doc_number[lost] = (
        prefix[lost].astype(object) + "B" + serial[lost].astype(str).astype(object)
    )
    lost_doc_status = np.full(n, "", dtype=object)
    lost_doc_status[lost] = np.where(rng.random(int(lost.sum())) < 0.7, "lost", "stolen")
    return Population(
        primary_name=primary,
        given_names=given,
        sex=sex,
        birth_date=birth_date,
        nationality=nationality,
        profile=profile,
        home_port=home_port,
        has_permit=has_permit,
        doc_number=doc_number,
        doc_expiry=doc_expiry,
        lost_doc_number=lost_doc_number,
        lost_doc_status=lost_doc_status,
    )


def season_weights(cfg: SynthConfig) -> np.ndarray:
    """Relative chance that a visit starts on each day: weekends, Easter and December peak."""
    days = np.arange(cfg.days)
    dates = [cfg.start + timedelta(days=int(d)) for d in days]
    w = np.ones(cfg.days)
    weekday = np.array([d.weekday() for d in dates])
    w[weekday >= 4] *= 1.4  # Friday to Sunday
    for year in range(cfg.start.year, cfg.end.year + 1):
        good_friday = easter(year) - timedelta(days=2)
        for offset in range(-3, 5):
            i = (good_friday + timedelta(days=offset) - cfg.start).days
            if 0 <= i < cfg.days:
                w[i] *= 6.0
        for day in range(10, 32):
            i = (date(year, 12, day) - cfg.start).days
            if 0 <= i < cfg.days:
                w[i] *= 3.0
    return w / w.sum()


def public_holidays(cfg: SynthConfig) -> np.ndarray:
    """Day numbers of holidays both countries keep (no commuting on these)."""
    days = []
    for year in range(cfg.start.year, cfg.end.year + 1):
        e = easter(year)
        for d in (
            date(year, 1, 1),
            e - timedelta(days=2),
            e + timedelta(days=1),
            date(year, 12, 25),
            date(year, 12, 26),
        ):
            days.append((d - cfg.start).days)
    return np.asarray(days)


@dataclass
class Trips:
    """Stays abroad: person, port, out day, back day (day numbers from cfg.start)."""

    person: np.ndarray
    port: np.ndarray
    out_day: np.ndarray
    back_day: np.ndarray  # may exceed the period: the traveller is still abroad
    home: np.ndarray  # country the traveller lives in (LSO/ZAF)
    same_day: np.ndarray  # bool: commuter pattern (morning out, evening back)


def _drop_overlaps(person: np.ndarray, out: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Mask of trips to keep: drop any trip starting before an earlier one of the same person
    has ended (one vectorised pass; slightly conservative, which is fine for synthetic data)."""
    order = np.lexsort((out, person))
    p, o, b = person[order], out[order], back[order]
    # Offsetting each person far apart lets one running maximum serve every person at once.
    offset = p.astype(np.int64) * 10_000_000
    run = np.maximum.accumulate(b + offset)
    prev_end = np.concatenate([[-1], run[:-1]]) - offset
    keep_sorted = o > prev_end
    keep = np.zeros(len(order), dtype=bool)
    keep[order] = keep_sorted
    return keep


def _episodic(
    rng: np.random.Generator,
    people: np.ndarray,
    per_year: float,
    min_days: int,
    max_days: int,
    cfg: SynthConfig,
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = cfg.days / 365.25
    counts = rng.poisson(per_year * years, len(people))
    person = np.repeat(people, counts)
    out = rng.choice(cfg.days, size=len(person), p=weights)
    length = rng.integers(min_days, max_days + 1, len(person))
    return person, out, out + length - 1


def make_trips(pop: Population, cfg: SynthConfig) -> Trips:
    rng = np.random.default_rng([cfg.seed, 2])
    weights = season_weights(cfg)
    parts: list[tuple[np.ndarray, ...]] = []
    idx = np.arange(len(pop))

    def add(person: np.ndarray, out: np.ndarray, back: np.ndarray, same_day: bool) -> None:
        parts.append((person, out, back, np.full(len(person), same_day)))

    # Visitors: a few trips a year, mostly short; some stays overrun 30 days.
    for prof, rate in ((Profile.VISITOR, 4.0), (Profile.VISITOR_TO_LESOTHO, 2.5)):
        people = idx[pop.profile == prof]
        person, out, back = _episodic(rng, people, rate, 1, 10, cfg, weights)
        over = rng.random(len(person)) < OVERSTAY_SHARE
        back[over] = out[over] + rng.integers(31, 90, int(over.sum()))
        add(person, out, back, False)

    # Traders: once or twice a week, one or two days.
    people = idx[pop.profile == Profile.TRADER]
    person, out, back = _episodic(rng, people, 70.0, 1, 2, cfg, np.full(cfg.days, 1 / cfg.days))
    add(person, out, back, False)

    # Commuters: most weekdays, back the same day.
    people = idx[pop.profile == Profile.COMMUTER]
    day_no = np.arange(cfg.days)
    weekday = (
        (np.datetime64(cfg.start) + day_no.astype("timedelta64[D]"))
        .astype("datetime64[D]")
        .view("int64")
    )
    weekday = (weekday + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    holidays = public_holidays(cfg)
    workdays = day_no[(weekday < 5) & ~np.isin(day_no, holidays)]
    if len(people):
        grid = rng.random((len(people), len(workdays))) < 0.35
        pi, di = np.nonzero(grid)
        add(people[pi], workdays[di], workdays[di], True)

    # Migrant workers: spells of work between mid-January and mid-December each year.
    people = idx[pop.profile == Profile.MIGRANT_WORKER]
    if len(people):
        for year in range(cfg.start.year, cfg.end.year + 1):
            season_start = (date(year, 1, 8) - cfg.start).days
            season_end = (date(year, 12, 15) - cfg.start).days
            k = 20
            permit = pop.has_permit[people]
            stay = np.where(
                permit[:, None],
                rng.integers(25, 85, (len(people), k)),
                rng.integers(18, 29, (len(people), k)),
            )
            over = (~permit[:, None]) & (rng.random((len(people), k)) < OVERSTAY_SHARE)
            stay = np.where(over, rng.integers(31, 70, (len(people), k)), stay)
            gap = rng.integers(2, 8, (len(people), k))
            first = season_start + rng.integers(0, 10, len(people))
            out = first[:, None] + np.concatenate(
                [np.zeros((len(people), 1), dtype=np.int64), np.cumsum(stay + gap, axis=1)[:, :-1]],
                axis=1,
            )
            back = out + stay - 1
            end_jitter = season_end + rng.integers(-5, 5, len(people))
            valid = out < end_jitter[:, None]
            back = np.minimum(back, end_jitter[:, None])
            pi, ti = np.nonzero(valid)
            add(people[pi], out[pi, ti], back[pi, ti], False)

    # Students: in South Africa for the two semesters.
    people = idx[pop.profile == Profile.STUDENT]
    if len(people):
        for year in range(cfg.start.year, cfg.end.year + 1):
            for a, b in (
                (date(year, 1, 28), date(year, 6, 25)),
                (date(year, 7, 18), date(year, 12, 5)),
            ):
                jitter_a = rng.integers(-4, 5, len(people))
                jitter_b = rng.integers(-4, 5, len(people))
                add(people, (a - cfg.start).days + jitter_a, (b - cfg.start).days + jitter_b, False)

    person = np.concatenate([p[0] for p in parts]).astype(np.int32)
    out = np.concatenate([p[1] for p in parts]).astype(np.int64)
    back = np.concatenate([p[2] for p in parts]).astype(np.int64)
    same_day = np.concatenate([p[3] for p in parts]).astype(bool)
    inside = (out >= 0) & (out < cfg.days) & (back >= out)
    person, out, back, same_day = person[inside], out[inside], back[inside], same_day[inside]
    keep = _drop_overlaps(person, out, back)
    person, out, back, same_day = person[keep], out[keep], back[keep], same_day[keep]

    home_port = pop.home_port[person]
    other_port = rng.choice(
        len(PORT_CODES),
        size=len(person),
        p=np.array(list(PORT_WEIGHTS.values())) / sum(PORT_WEIGHTS.values()),
    )
    port = np.where(rng.random(len(person)) < 0.85, home_port, other_port).astype(np.int16)
    home = np.where(pop.profile[person] == Profile.VISITOR_TO_LESOTHO, ZAF, LSO).astype(np.int8)
    order = np.lexsort((person, out))
    return Trips(
        person=person[order],
        port=port[order],
        out_day=out[order],
        back_day=back[order],
        home=home[order],
        same_day=same_day[order],
    )


def _local_to_utc(day: np.ndarray, minutes: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Local time in Lesotho and South Africa is UTC+2 all year (no daylight saving)."""
    base = np.datetime64(cfg.start, "s")
    seconds = day.astype(np.int64) * 86400 + (minutes.astype(np.int64) - 120) * 60
    return base + seconds.astype("timedelta64[s]")


def crossing_chunks(pop: Population, trips: Trips, cfg: SynthConfig) -> Iterator[CrossingChunk]:
    """Four records per completed trip (two while the traveller is still abroad), in chunks."""
    rng = np.random.default_rng([cfg.seed, 3])
    step = max(1, cfg.chunk_size // 4)
    for lo in range(0, len(trips.person), step):
        hi = min(lo + step, len(trips.person))
        person = trips.person[lo:hi]
        port = trips.port[lo:hi]
        home = trips.home[lo:hi]
        abroad = 1 - home
        same = trips.same_day[lo:hi]
        n = hi - lo
        # Time of day in local minutes: commuters leave early and come back in the evening.
        out_min = np.where(same, rng.integers(330, 480, n), rng.normal(600, 150, n).clip(300, 1260))
        back_min = np.where(
            same, rng.integers(960, 1140, n), rng.normal(840, 150, n).clip(360, 1320)
        )
        queue_out = rng.integers(4, 45, n)
        queue_back = rng.integers(4, 45, n)
        out_day, back_day = trips.out_day[lo:hi], trips.back_day[lo:hi]
        # A day trip comes back at least an hour after it arrived.
        day_trip = back_day == out_day
        back_min = np.where(
            day_trip, np.maximum(back_min, out_min + queue_out + rng.integers(60, 300, n)), back_min
        )
        returned = back_day < cfg.days
        # Leave home country, enter the other; on return leave it and enter home again.
        t0 = _local_to_utc(out_day, out_min, cfg)
        t1 = _local_to_utc(out_day, out_min + queue_out, cfg)
        t2 = _local_to_utc(back_day, back_min, cfg)
        t3 = _local_to_utc(back_day, back_min + queue_back, cfg)
        r = returned
        chunk = CrossingChunk(
            person=np.concatenate([person, person, person[r], person[r]]),
            port=np.concatenate([port, port, port[r], port[r]]),
            direction=np.concatenate(
                [
                    np.full(n, EXIT),
                    np.full(n, ENTRY),
                    np.full(int(r.sum()), EXIT),
                    np.full(int(r.sum()), ENTRY),
                ]
            ).astype(np.int8),
            country=np.concatenate([home, abroad, abroad[r], home[r]]).astype(np.int8),
            crossed_at=np.concatenate([t0, t1, t2[r], t3[r]]),
            refer=np.zeros(2 * n + 2 * int(r.sum()), dtype=bool),
        )
        chunk.refer = rng.random(len(chunk)) < REFER_SHARE
        yield chunk


def estimate_crossings(trips: Trips, cfg: SynthConfig) -> int:
    returned = int((trips.back_day < cfg.days).sum())
    return 2 * len(trips.person) + 2 * returned
