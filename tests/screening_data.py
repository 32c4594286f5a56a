"""Synthetic watchlists and labelled screening queries (the screening index tests and the
screening benchmarks under ``bench/`` share them).

Entries are built from Tsela's shipped name lists (``tsela/reference/names``: Sesotho, Nguni,
Afrikaans, English), drawn with Zipf-like frequencies so common names are very common, plus
a long tail of Sesotho-like names assembled from syllables (real lists have a long tail;
it makes the vocabulary and the index realistically large).

Queries are labelled variants of entries (typos, transpositions, dropped or swapped names,
initials, the other Sesotho orthography, transliteration, formatting) and negatives: hard
ones (same or similar name, another birth date) and unrelated people.

The other-orthography variants come from two sources, reported separately:
``orthography_pairs`` uses the hand-written pairs in
``tsela/reference/names/sesotho_orthography_pairs.csv`` (independent of the folding rules);
``orthography_respell`` respells syllable names with ``respell_south_african`` below, which
follows the same correspondence table as the matcher and so is partly circular.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from tsela.domain.screening import BirthDate, WatchlistPerson
from tsela.reference import reference_file
from tsela.synth.names import name_list

GROUP_WEIGHTS = {"sesotho": 0.55, "nguni": 0.2, "afrikaans": 0.12, "english": 0.13}
NATIONALITIES = (("LSO", 0.6), ("ZAF", 0.35), ("ZWE", 0.02), ("MOZ", 0.015), ("SWZ", 0.015))
SYLLABLE_SHARE = 0.6  # share of name tokens drawn from the syllable long tail
_ONSETS = [
    "b",
    "f",
    "h",
    "hl",
    "j",
    "k",
    "kh",
    "l",
    "m",
    "n",
    "ng",
    "ny",
    "p",
    "ph",
    "q",
    "r",
    "s",
    "sh",
    "t",
    "th",
    "tl",
    "tlh",
    "ts",
    "tš",
    "ch",
    "bo",
    "mo",
    "ma",
    "ra",
    "se",
    "le",
    "ho",
    "ke",
    "re",
]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o"]
_PREFIXES = ("Mo", "Ra", "Ma", "Se", "Le", "Tha", "Lie", "Tšo", "Ntho", "Ke", "Re", "Mats'")
_SUFFIXES = ("ng", "", "", "", "e", "o", "oa", "oe", "ane", "eng", "ile", "so")
# European-looking long tail for the Afrikaans and English groups.
_EU_HEADS = [
    "Ber",
    "Van",
    "Hol",
    "Wes",
    "Kar",
    "Stel",
    "Bran",
    "Rud",
    "Ger",
    "Hen",
    "Jo",
    "Mar",
    "Wil",
    "Fer",
    "Cor",
    "Lin",
    "Ros",
    "Dal",
    "Ash",
    "Brad",
]
_EU_MIDS = ["en", "er", "in", "an", "ol", "el", "ing", "ard", "ers"]
_EU_TAILS = [
    "berg",
    "hof",
    "stein",
    "dorp",
    "man",
    "ton",
    "ley",
    "field",
    "son",
    "ell",
    "ine",
    "ie",
    "a",
    "us",
    "ter",
    "wood",
    "rick",
]
# Latin -> Cyrillic as a Russian clerk would transcribe an African or English name
# (practical transcription: th -> т, ph -> п, j -> дж, w -> в, ya -> я ...). Read back with
# anyascii, the way Tsela reads any non-Latin script.
_CYRILLIC = [
    ("tsh", "тш"), ("sh", "ш"), ("ch", "ч"), ("th", "т"), ("ph", "п"), ("kh", "кх"),
    ("ts", "ц"), ("ya", "я"), ("yu", "ю"), ("ye", "е"), ("yo", "ё"), ("j", "дж"), ("ng", "нг"),
    ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"),
    ("h", "х"), ("i", "и"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
    ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"),
    ("w", "в"), ("x", "кс"), ("y", "й"), ("z", "з"), ("š", "ш"), ("'", ""),
]  # fmt: skip
_KEYBOARD = {
    "a": "sqz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def orthography_pairs() -> dict[str, str]:
    """Both directions: Lesotho spelling -> South African and back."""
    lines = [
        line
        for line in reference_file("names/sesotho_orthography_pairs.csv").splitlines()
        if line and not line.startswith("#")
    ]
    out: dict[str, str] = {}
    for row in csv.DictReader(lines):
        ls, za = row["lesotho"], row["south_africa"]
        if ls != za:
            out[ls] = za
            out[za] = ls
    return out


def respell_south_african(name: str) -> str:
    """A Lesotho-spelt Sesotho name written the South African way (for synthetic names)."""
    out = name
    for pattern, repl in (
        (r"tš|ts'", "tsh"),
        (r"Tš|Ts'", "Tsh"),
        (r"ch", "tjh"),
        (r"Ch", "Tjh"),
        (r"kh", "kg"),
        (r"Kh", "Kg"),
        (r"l(?=[iu])", "d"),
        (r"L(?=[iu])", "D"),
        (r"(?<=[a-z])o(?=[aei])", "w"),
        (r"^'M", "Mm"),
    ):
        out = re.sub(pattern, repl, out)
    return out


def _zipf_pool(names: list[str], rng: random.Random) -> tuple[list[str], list[float]]:
    shuffled = names[:]
    rng.shuffle(shuffled)
    return shuffled, [1.0 / (rank + 1) ** 0.5 for rank in range(len(shuffled))]


@dataclass
class NameSource:
    rng: random.Random
    pools: dict[tuple[str, str], tuple[list[str], list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for group in GROUP_WEIGHTS:
            for kind in ("given_female", "given_male", "surnames"):
                self.pools[(group, kind)] = _zipf_pool(list(name_list(group, kind)), self.rng)
        pairs = orthography_pairs()
        # The hand-written pair names join the Sesotho pools in their Lesotho spelling.
        surnames = set(self.pools[("sesotho", "surnames")][0])
        extra = [
            ls
            for ls in pairs
            if (any(c in ls for c in "š'") or ls[:1] in "LC") and ls not in surnames
        ]
        given, gw = self.pools[("sesotho", "given_female")]
        self.pools[("sesotho", "given_female")] = (given + extra, gw + [0.2] * len(extra))

    def syllabic(self) -> str:
        rng = self.rng
        word = rng.choice(_PREFIXES)
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            word += rng.choice(_ONSETS) + rng.choice(_VOWELS)
        word += rng.choice(_SUFFIXES)
        return word[:1].upper() + word[1:]

    def european(self) -> str:
        rng = self.rng
        mid = rng.choice(_EU_MIDS) if rng.random() < 0.5 else ""
        return rng.choice(_EU_HEADS) + mid + rng.choice(_EU_TAILS)

    def draw(self, group: str, kind: str) -> str:
        if self.rng.random() < SYLLABLE_SHARE:
            return self.syllabic() if group in ("sesotho", "nguni") else self.european()
        names, weights = self.pools[(group, kind)]
        return self.rng.choices(names, weights)[0]

    def person_name(self) -> list[str]:
        rng = self.rng
        group = rng.choices(list(GROUP_WEIGHTS), list(GROUP_WEIGHTS.values()))[0]
        kind = rng.choice(("given_female", "given_male"))
        # Basotho and South Africans often carry an English given name beside another.
        given_group = "english" if rng.random() < 0.2 else group
        given = [self.draw(given_group, kind)]
        if rng.random() < 0.3:
            given.append(self.draw(group, kind))
        return [*given, self.draw(group, "surnames")]


def birth(rng: random.Random) -> BirthDate | None:
    """A list entry's birth date: lists often know only the year, or nothing."""
    r = rng.random()
    if r < 0.15:
        return None
    year = rng.randint(1940, 2008)
    if r < 0.30:
        return BirthDate(year)
    month = rng.randint(1, 12)
    return BirthDate(year, month, rng.randint(1, 28))


def make_people(n: int, seed: int) -> Iterator[tuple[WatchlistPerson, list[str]]]:
    """``n`` synthetic entries (and the tokens of the primary name) — a generator."""
    rng = random.Random(seed)
    source = NameSource(rng)
    nats, nat_w = zip(*NATIONALITIES, strict=True)
    for i in range(n):
        tokens = source.person_name()
        names = [" ".join(tokens)]
        if rng.random() < 0.15:  # an alias: another spelling or a short form
            names.append(" ".join([tokens[0][0] + ".", tokens[-1]]))
        yield (
            WatchlistPerson(
                key=str(i),
                names=tuple(names),
                birth=birth(rng),
                nationalities=frozenset({rng.choices(nats, nat_w)[0]}),
            ),
            tokens,
        )


# -- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    kind: str
    names: list[str]
    birth: str | None
    nationality: str | None
    target: str | None  # the entry key this query is, or None for a negative


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word))
    op = rng.choice(("sub", "del", "ins"))
    c = word[i].lower()
    if op == "sub":
        return word[:i] + rng.choice(_KEYBOARD.get(c, "e")) + word[i + 1 :]
    if op == "del":
        return word[:i] + word[i + 1 :]
    return word[:i] + rng.choice(_KEYBOARD.get(c, "e")) + word[i:]


def _transpose(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _cyrillic(text: str) -> str:
    out = text.lower()
    for latin, cyr in _CYRILLIC:
        out = out.replace(latin, cyr)
    return out


def _query_birth(b: BirthDate | None, rng: random.Random) -> str | None:
    """The birth date a border query carries: from the travel document, so nearly always
    full; a few queries (typed by hand) have the year only or no date at all."""
    r = rng.random()
    if r < 0.02:
        return None
    if b is None:
        return f"{rng.randint(1940, 2008)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if not b.full:
        return f"{b.year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if r < 0.12 and b.day is not None and b.day <= 12:
        return f"{b.year}-{b.day:02d}-{b.month:02d}"  # day and month swapped
    if r < 0.15:
        return str(b.year)
    return str(b)


def _other_birth(b: BirthDate | None, rng: random.Random) -> str:
    while True:
        year = rng.randint(1940, 2008)
        if b is None or abs(year - b.year) > 1:
            return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


VARIANTS = (
    "exact",
    "typo",
    "transposition",
    "dropped_name",
    "swapped_order",
    "initials",
    "orthography_pairs",
    "orthography_respell",
    "transliteration",
    "format",
)


def variant(
    kind: str, tokens: list[str], rng: random.Random, pairs: dict[str, str]
) -> list[str] | None:
    """The name tokens of one variant, or None when this kind does not apply to the name."""
    t = tokens[:]
    if kind == "exact":
        return t
    if kind in ("typo", "transposition"):
        i = rng.randrange(len(t))
        changed = (_typo if kind == "typo" else _transpose)(t[i], rng)
        return None if changed == t[i] else [*t[:i], changed, *t[i + 1 :]]
    if kind == "dropped_name":
        return t[1:] if len(t) >= 3 else None
    if kind == "swapped_order":
        return [t[-1].upper() + ",", *t[:-1]]
    if kind == "initials":
        return [t[0][0] + ".", *t[1:]] if len(t) >= 2 else None
    if kind == "orthography_pairs":
        swapped = [pairs.get(w, w) for w in t]
        return swapped if swapped != t else None
    if kind == "orthography_respell":
        respelt = [respell_south_african(w) for w in t]
        return respelt if respelt != t and [pairs.get(w, w) for w in t] == t else None
    if kind == "transliteration":
        if rng.random() < 0.5:
            return [_cyrillic(w) for w in t]
        ascii_only = [w.replace("š", "s").replace("Š", "S").replace("'", "") for w in t]
        return ascii_only if ascii_only != t else [_cyrillic(w) for w in t]
    if kind == "format":
        return ["Mr", *[w.upper() for w in t]] if rng.random() < 0.5 else [w.lower() for w in t]
    raise ValueError(kind)


def make_queries(
    people: list[tuple[WatchlistPerson, list[str]]],
    n_positive: int,
    n_negative: int,
    seed: int,
) -> list[Query]:
    """Labelled queries: variants of random entries, and negatives."""
    rng = random.Random(seed)
    pairs = orthography_pairs()
    source = NameSource(random.Random(seed + 1))
    # Entries by sorted lower-case name: a negative must not be some other entry's namesake.
    by_name: dict[tuple[str, ...], list[BirthDate | None]] = {}
    for person, tokens in people:
        by_name.setdefault(tuple(sorted(w.lower() for w in tokens)), []).append(person.birth)
    out: list[Query] = []
    per_kind = max(1, n_positive // len(VARIANTS))
    for kind in VARIANTS:
        made = 0
        tries = 0
        while made < per_kind and tries < per_kind * 200:
            tries += 1
            person, tokens = rng.choice(people)
            names = variant(kind, tokens, rng, pairs)
            if names is None:
                continue
            nat = next(iter(person.nationalities)) if rng.random() < 0.6 else None
            out.append(
                Query(kind, [" ".join(names)], _query_birth(person.birth, rng), nat, person.key)
            )
            made += 1
    hard = n_negative * 3 // 4
    while len(out) < per_kind * len(VARIANTS) + n_negative:
        person, tokens = rng.choice(people)
        made_hard = len(out) < per_kind * len(VARIANTS) + hard
        if made_hard:
            t = tokens[:]
            if rng.random() < 0.5:  # a namesake, or a one-letter-different name
                i = rng.randrange(len(t))
                t[i] = (
                    _typo(t[i], rng) if rng.random() < 0.5 else source.draw("sesotho", "given_male")
                )
            kind = "hard_negative"
            dob = _other_birth(person.birth, rng)
        else:
            t = source.person_name()
            kind = "unrelated_negative"
            dob = _other_birth(None, rng)
        year = int(dob[:4]) if dob else None
        # Skip a negative that could be some entry after all: one with this name or the name it
        # was varied from, and a birth year that does not tell them apart.
        keys = {tuple(sorted(w.lower() for w in t)), tuple(sorted(w.lower() for w in tokens))}
        if made_hard and any(
            b is None or year is None or abs(b.year - year) <= 1
            for k in keys
            for b in by_name.get(k, [])
        ):
            continue
        if not made_hard and tuple(sorted(w.lower() for w in t)) in by_name:
            continue
        out.append(Query(kind, [" ".join(t)], dob, None, None))
    rng.shuffle(out)
    return out


def today() -> date:
    return date(2026, 11, 25)
