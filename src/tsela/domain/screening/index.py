"""An in-memory screening index: finds the few entries worth scoring without a full scan.

Layout (compact enough for millions of entries: numpy arrays, not an object per entry):

- a vocabulary of folded name tokens (``orthography.fold_token``), each with a posting list
  of the entries whose names contain it (CSR arrays ``_indptr``/``_postings``);
- fuzzy keys for every vocabulary token: the token itself, each of its one-letter
  deletions (the symmetric-deletion trick: two tokens within one edit or one adjacent
  transposition share a key) and a consonant skeleton for wider spelling drift; stored as
  sorted 64-bit hashes with the token id beside them, searched with ``np.searchsorted``;
- per entry: its names as written (one string), birth year/month/day, a nationality-set id,
  validity dates as ordinals.

A query's tokens find similar vocabulary tokens through the fuzzy keys; entries sharing
at least two of the query's words (one for a one-word name) become candidates; the best
``candidates`` of them by token similarity and birth-date agreement are scored in full by
``scoring.score``. Keys shared by too many tokens are skipped (frequency cut-off).

Every part of a built index is a numpy array (strings are UTF-8 blobs with offsets,
``StringTable``) plus a little JSON-able metadata: ``parts`` gives them out and
``from_parts`` takes them back (for instance as memory-mapped files, shared between
processes; the files themselves are ``store.index_files``' business). Fuzzy keys are hashed
with ``stable_hash``, the same in every process (Python's ``hash`` of a string is not).
"""

from __future__ import annotations

import functools
import queue
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from tsela.domain.screening.normalise import (
    NormalisedName,
    ScreeningInputError,
    normalise_name,
    translit_key,
)
from tsela.domain.screening.scoring import (
    THRESHOLD,
    TRANSLIT_FACTOR,
    BirthDate,
    Candidate,
    ScreeningQuery,
    score,
)

# A vocabulary token is a blocking match for a query token at or above this similarity.
BLOCK_MIN = 0.72
# Fuzzy keys shared by more vocabulary tokens than this carry no information; skipped.
MAX_KEY_FANOUT = 500
# Scratch arrays (a few bytes per entry each) shared by concurrent queries: at most this many
# sets exist; further concurrent queries wait for one to be free.
MAX_SCRATCH = 4
# Entries scored in full per query, at most.
CANDIDATES = 32
# Query words whose near vocabulary words an index remembers (a few hundred bytes each).
NEAR_WORDS_CACHED = 20_000
_NAME_SEP = "\x1f"
# Bumped whenever ``parts`` changes meaning: an index saved by another format is rebuilt.
FORMAT = 1
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_HASH_BATCH = 200_000
_VOWELS = str.maketrans("", "", "aeiouhwy")


def stable_hash(keys: Sequence[str]) -> np.ndarray:
    """64-bit FNV-1a of each key's UTF-8 bytes, as int64; the same in every process.

    Vectorised over the keys (a Python loop over millions of them would take seconds):
    column ``c`` of a zero-padded byte matrix updates only the keys longer than ``c``.
    """
    out = np.empty(len(keys), dtype=np.uint64)
    with np.errstate(over="ignore"):  # the multiplication is meant to wrap
        for start in range(0, len(keys), _HASH_BATCH):
            encoded = [k.encode() for k in keys[start : start + _HASH_BATCH]]
            lengths = np.fromiter((len(b) for b in encoded), np.int64, len(encoded))
            width = int(lengths.max()) if len(encoded) else 0
            h = np.full(len(encoded), _FNV_OFFSET, dtype=np.uint64)
            if width:
                matrix = np.array(encoded, dtype=f"S{width}").view(np.uint8)
                matrix = matrix.reshape(len(encoded), width)
                for c in range(width):
                    live = lengths > c
                    h[live] = (h[live] ^ matrix[live, c]) * _FNV_PRIME
            out[start : start + len(encoded)] = h
    return out.view(np.int64)


class StringTable:
    """Strings as one UTF-8 blob and their offsets: two arrays instead of an object each."""

    def __init__(self, offsets: np.ndarray, data: np.ndarray) -> None:
        self.offsets = offsets
        self.data = data

    @classmethod
    def of(cls, strings: Iterable[str]) -> StringTable:
        blobs = [s.encode() for s in strings]
        offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
        np.cumsum(np.fromiter((len(b) for b in blobs), np.int64, len(blobs)), out=offsets[1:])
        data = np.frombuffer(b"".join(blobs), dtype=np.uint8).copy()
        return cls(offsets, data)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.data[self.offsets[i] : self.offsets[i + 1]].tobytes().decode()

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def take(self, ids: Iterable[int]) -> list[str]:
        return [self[i] for i in ids]


_STRING_TABLES: tuple[str, ...] = (
    "_keys",
    "_names",
    "_payloads",
    "_vocab",
    "_vocab_folded",
    "_vocab_translit",
    "_entry_docs",
)
_ARRAYS = (
    "_vocab_len",
    "_translit_len",
    "_indptr",
    "_postings",
    "_key_hash",
    "_key_vid",
    "_year",
    "_month",
    "_day",
    "_nat",
    "_letters",
    "_valid_from",
    "_valid_to",
    "_doc_hash",
    "_doc_pos",
    "_entry_doc_ptr",
)


@dataclass(frozen=True)
class WatchlistPerson:
    """A person entry as the index sees it (``key`` identifies it to the caller; ``payload``
    is the caller's text, given back with a match)."""

    key: str
    names: tuple[str, ...]
    birth: BirthDate | None = None
    nationalities: frozenset[str] = frozenset()
    documents: frozenset[str] = frozenset()
    valid_from: date | None = None
    valid_to: date | None = None
    payload: str = ""


@dataclass(frozen=True)
class Match:
    key: str
    score: float
    features: dict[str, Any]
    explanation: tuple[str, ...]
    matched_name: str
    names: tuple[str, ...] = ()
    birth: BirthDate | None = None
    payload: str = ""


@dataclass
class _Scratch:
    acc: np.ndarray
    cnt: np.ndarray
    tmp: np.ndarray


def skeleton(token: str) -> str:
    """Consonant skeleton: first letter, then consonants without h/w/y, repeats collapsed."""
    if not token:
        return ""
    rest = token[1:].translate(_VOWELS)
    out = [token[0]]
    for c in rest:
        if c != out[-1]:
            out.append(c)
    return "".join(out)


def fuzzy_keys(token: str) -> set[str]:
    """The word and its one-letter deletions."""
    keys = {token}
    if len(token) >= 3:
        keys.update(token[:i] + token[i + 1 :] for i in range(len(token)))
    return keys


def blocking_tokens(name: NormalisedName) -> set[tuple[str, str, str]]:
    """(plain, folded, transliteration key) of each word that can find candidates."""
    out = set()
    for t in name.tokens:
        if t.initial:
            continue  # an initial matches too many names to find candidates by
        out.add((t.plain, t.folded, t.translit))
        if t.core != t.folded and len(t.core) > 1:
            out.add((t.core, t.core, translit_key(t.core)))
    return out


def token_keys(plain: str, folded: str, translit: str) -> set[str]:
    return fuzzy_keys(plain) | fuzzy_keys(folded) | {"%" + translit}


def skeleton_keys(plain: str, folded: str) -> set[str]:
    """Wider keys, searched only when a word found nothing with ``token_keys``."""
    return {"#" + skeleton(plain), "#" + skeleton(folded)}


def _initials_mask(names: list[NormalisedName]) -> int:
    mask = 0
    for n in names:
        for t in n.tokens:
            c = ord(t.plain[0]) - 97
            if 0 <= c < 26:
                mask |= 1 << c
    return mask


@dataclass
class IndexStats:
    entries: int
    skipped: int
    vocabulary: int
    postings: int
    fuzzy_keys: int
    array_bytes: int
    skipped_examples: list[tuple[str, str]] = field(default_factory=list)


class ScreeningIndex:
    """Immutable after ``build``; safe to query from several threads at once (they share a
    small pool of scratch arrays)."""

    def __init__(self) -> None:
        empty = StringTable.of([])
        self._keys = self._names = self._payloads = empty
        self._vocab = self._vocab_folded = self._vocab_translit = empty  # name words
        self._vocab_len = np.zeros(0, dtype=np.int16)
        self._translit_len = np.zeros(0, dtype=np.int16)
        self._indptr = np.zeros(1, dtype=np.int64)
        self._postings = np.zeros(0, dtype=np.int32)
        self._key_hash = np.zeros(0, dtype=np.int64)
        self._key_vid = np.zeros(0, dtype=np.int32)
        self._year = np.zeros(0, dtype=np.int16)
        self._month = np.zeros(0, dtype=np.int8)
        self._day = np.zeros(0, dtype=np.int8)
        self._nat = np.zeros(0, dtype=np.int32)
        self._letters = np.zeros(0, dtype=np.uint32)  # first letters of an entry's words
        self._nat_sets: list[frozenset[str]] = [frozenset()]
        self._valid_from = np.zeros(0, dtype=np.int32)
        self._valid_to = np.zeros(0, dtype=np.int32)
        # Documents: sorted hashes with the entry positions beside them (to find an entry by
        # a document), and each entry's documents (CSR over ``_entry_docs``).
        self._doc_hash = np.zeros(0, dtype=np.int64)
        self._doc_pos = np.zeros(0, dtype=np.int32)
        self._entry_doc_ptr = np.zeros(1, dtype=np.int64)
        self._entry_docs = empty
        self._skipped: list[tuple[str, str]] = []
        self._skipped_count = 0
        self._scratch_free: queue.LifoQueue[_Scratch] = queue.LifoQueue()
        self._scratch_made = 0
        self._scratch_lock = threading.Lock()
        # Which vocabulary words are near a query word depends only on the word and this
        # (immutable) index, and travellers' names repeat a lot: remember the answers.
        self._near_words = functools.lru_cache(maxsize=NEAR_WORDS_CACHED)(self._near_words_of)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, people: Iterable[WatchlistPerson]) -> ScreeningIndex:
        """Index the given entries; entries without a usable name are skipped and counted."""
        self = cls()
        vocab_ids: dict[str, int] = {}
        keys: list[str] = []
        names: list[str] = []
        payloads: list[str] = []
        doc_ptr, entry_docs = array("q", [0]), []
        tok_ids, tok_entries = array("i"), array("i")
        year, month, day = array("h"), array("b"), array("b")
        nat, vfrom, vto, letters = array("i"), array("i"), array("i"), array("I")
        forms: dict[int, tuple[str, str]] = {}
        nat_ids: dict[frozenset[str], int] = {frozenset(): 0}
        pos = 0
        for person in people:
            try:
                normalised = [normalise_name(n) for n in person.names]
                if not normalised:
                    raise ScreeningInputError("no name")
            except ScreeningInputError as exc:
                self._skipped_count += 1
                if len(self._skipped) < 100:
                    self._skipped.append((person.key, str(exc)))
                continue
            tokens: set[tuple[str, str, str]] = set()
            for n in normalised:
                tokens |= blocking_tokens(n)
            vids = set()
            for plain, folded, translit in tokens:
                vid = vocab_ids.get(plain)
                if vid is None:
                    vid = vocab_ids[plain] = len(vocab_ids)
                    forms[vid] = (folded, translit)
                vids.add(vid)
            for vid in vids:
                tok_ids.append(vid)
                tok_entries.append(pos)
            letters.append(_initials_mask(normalised))
            keys.append(person.key)
            names.append(_NAME_SEP.join(person.names))
            payloads.append(person.payload)
            b = person.birth
            year.append(b.year if b else 0)
            month.append((b.month or 0) if b else 0)
            day.append((b.day or 0) if b else 0)
            nid = nat_ids.get(person.nationalities)
            if nid is None:
                nid = nat_ids[person.nationalities] = len(nat_ids)
            nat.append(nid)
            vfrom.append(person.valid_from.toordinal() if person.valid_from else 0)
            vto.append(person.valid_to.toordinal() if person.valid_to else 0)
            entry_docs.extend(sorted(person.documents))
            doc_ptr.append(len(entry_docs))
            pos += 1
        vocab = [""] * len(vocab_ids)
        for tok, vid in vocab_ids.items():
            vocab[vid] = tok
        del vocab_ids
        folded_forms = [forms[v][0] for v in range(len(vocab))]
        translit_forms = [forms[v][1] for v in range(len(vocab))]
        del forms
        self._vocab_len = np.fromiter((len(t) for t in vocab), np.int16, len(vocab))
        self._translit_len = np.fromiter((len(t) for t in translit_forms), np.int16, len(vocab))
        self._build_fuzzy_keys(vocab, folded_forms, translit_forms)
        self._vocab = StringTable.of(vocab)
        self._vocab_folded = StringTable.of(folded_forms)
        self._vocab_translit = StringTable.of(translit_forms)
        del vocab, folded_forms, translit_forms
        self._keys, self._names = StringTable.of(keys), StringTable.of(names)
        self._payloads = StringTable.of(payloads)
        del keys, names, payloads
        self._entry_doc_ptr = np.frombuffer(doc_ptr, dtype=np.int64).copy()
        self._entry_docs = StringTable.of(entry_docs)
        counts = np.diff(self._entry_doc_ptr)
        doc_pos = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        doc_hash = stable_hash(entry_docs)
        order = np.argsort(doc_hash, kind="stable")
        self._doc_hash, self._doc_pos = doc_hash[order], doc_pos[order]
        self._nat_sets = [frozenset()] * len(nat_ids)
        for s, nid in nat_ids.items():
            self._nat_sets[nid] = s
        ids = np.frombuffer(tok_ids, dtype=np.int32) if tok_ids else np.zeros(0, np.int32)
        ents = np.frombuffer(tok_entries, dtype=np.int32) if tok_entries else np.zeros(0, np.int32)
        order = np.argsort(ids, kind="stable")  # stable: each posting list stays sorted
        self._postings = ents[order].copy()
        self._indptr = np.zeros(len(self._vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ids, minlength=len(self._vocab)), out=self._indptr[1:])
        self._year = np.array(year, dtype=np.int16)
        self._month = np.array(month, dtype=np.int8)
        self._day = np.array(day, dtype=np.int8)
        self._nat = np.array(nat, dtype=np.int32)
        self._letters = np.array(letters, dtype=np.uint32)
        self._valid_from = np.array(vfrom, dtype=np.int32)
        self._valid_to = np.array(vto, dtype=np.int32)
        return self

    def _build_fuzzy_keys(self, vocab: list[str], folded: list[str], translit: list[str]) -> None:
        # Hashed a batch at a time: ten million key strings at once would take gigabytes.
        batch: list[str] = []
        hashes: list[np.ndarray] = []
        vids = array("i")
        for vid, tok in enumerate(vocab):
            for key in token_keys(tok, folded[vid], translit[vid]) | skeleton_keys(
                tok, folded[vid]
            ):
                batch.append(key)
                vids.append(vid)
            if len(batch) >= _HASH_BATCH:
                hashes.append(stable_hash(batch))
                batch = []
        hashes.append(stable_hash(batch))
        h = np.concatenate(hashes)
        del hashes, batch
        v = np.frombuffer(vids, dtype=np.int32) if vids else np.zeros(0, np.int32)
        order = np.argsort(h, kind="stable")
        self._key_hash = h[order].copy()
        self._key_vid = v[order].copy()

    # -- parts (for saving and memory-mapping) -----------------------------------------------

    def parts(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The arrays (by name) and the metadata (JSON-able) that ``from_parts`` takes."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        for name in _STRING_TABLES:
            table: StringTable = getattr(self, name)
            arrays[f"{name}.offsets"], arrays[f"{name}.data"] = table.offsets, table.data
        meta = {
            "format": FORMAT,
            "entries": len(self),
            "nat_sets": [sorted(s) for s in self._nat_sets],
            "skipped": [list(x) for x in self._skipped],
            "skipped_count": self._skipped_count,
        }
        return arrays, meta

    @classmethod
    def from_parts(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> ScreeningIndex:
        """An index over the given arrays (not copied: memory-mapped ones stay on disk).

        ValueError when they do not make a whole index of this format."""
        if meta.get("format") != FORMAT:
            raise ValueError(f"index format {meta.get('format')!r}, not {FORMAT}")
        self = cls()
        try:
            for name in _ARRAYS:
                want = getattr(self, name).dtype
                if arrays[name].dtype != want or arrays[name].ndim != 1:
                    raise ValueError(f"{name}: {arrays[name].dtype}, not {want}")
                setattr(self, name, arrays[name])
            for name in _STRING_TABLES:
                offsets, data = arrays[f"{name}.offsets"], arrays[f"{name}.data"]
                if offsets.dtype != np.int64 or data.dtype != np.uint8:
                    raise ValueError(f"{name}: not offsets and bytes")
                if len(offsets) < 1 or int(offsets[-1]) != len(data):
                    raise ValueError(f"{name}: offsets do not end at the data's end")
                setattr(self, name, StringTable(offsets, data))
        except KeyError as exc:
            raise ValueError(f"missing part {exc}") from None
        n = int(meta["entries"])
        per_entry = ("_year", "_month", "_day", "_nat", "_letters", "_valid_from", "_valid_to")
        if len(self._keys) != n or any(len(getattr(self, a)) != n for a in per_entry):
            raise ValueError("per-entry parts of different lengths")
        if len(self._entry_doc_ptr) != n + 1 or len(self._indptr) != len(self._vocab) + 1:
            raise ValueError("offsets of the wrong length")
        self._nat_sets = [frozenset(s) for s in meta["nat_sets"]]
        self._skipped = [(str(k), str(m)) for k, m in meta["skipped"]]
        self._skipped_count = int(meta["skipped_count"])
        return self

    # -- facts ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._keys)

    def stats(self) -> IndexStats:
        arrays = (
            self._indptr,
            self._postings,
            self._key_hash,
            self._key_vid,
            self._vocab_len,
            self._translit_len,
            self._year,
            self._month,
            self._day,
            self._nat,
            self._letters,
            self._valid_from,
            self._valid_to,
        )
        return IndexStats(
            entries=len(self),
            skipped=self._skipped_count,
            vocabulary=len(self._vocab),
            postings=int(self._postings.size),
            fuzzy_keys=int(self._key_hash.size),
            array_bytes=sum(int(a.nbytes) for a in arrays),
            skipped_examples=list(self._skipped),
        )

    def key_at(self, pos: int) -> str:
        return self._keys[pos]

    # -- querying ---------------------------------------------------------------------------

    def _take_scratch(self) -> _Scratch:
        try:
            return self._scratch_free.get_nowait()
        except queue.Empty:
            pass
        with self._scratch_lock:
            make = self._scratch_made < MAX_SCRATCH
            if make:
                self._scratch_made += 1
        if not make:
            return self._scratch_free.get()
        n = len(self)
        return _Scratch(
            acc=np.zeros(n, dtype=np.float32),
            cnt=np.zeros(n, dtype=np.uint8),
            tmp=np.zeros(n, dtype=np.float32),
        )

    def similar_tokens(self, plain: str, folded: str, translit: str) -> list[tuple[int, float]]:
        """Vocabulary ids similar to a query word, with their similarity (as in scoring)."""
        return list(self._near_words(plain, folded, translit))

    def _near_words_of(
        self, plain: str, folded: str, translit: str
    ) -> tuple[tuple[int, float], ...]:
        if not len(self._key_hash):
            return ()
        found = self._words_by_keys(token_keys(plain, folded, translit), plain, translit)
        matches = self._similar(found, plain, folded, translit)
        if not matches:
            found = self._words_by_keys(skeleton_keys(plain, folded), plain, translit)
            matches = self._similar(found, plain, folded, translit)
        return tuple(matches)

    def _words_by_keys(self, keys: set[str], plain: str, translit: str) -> np.ndarray:
        hs = stable_hash(list(keys))
        lo = np.searchsorted(self._key_hash, hs, side="left")
        hi = np.searchsorted(self._key_hash, hs, side="right")
        slices = [
            self._key_vid[a:b]
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
            if 0 < b - a <= MAX_KEY_FANOUT
        ]
        if not slices:
            return np.zeros(0, dtype=np.int32)
        found = np.unique(np.concatenate(slices))
        # Words of very different length cannot reach BLOCK_MIN: drop them before scoring.
        near = np.abs(self._vocab_len[found] - len(plain)) <= max(2, len(plain) // 3)
        near |= np.abs(self._translit_len[found] - len(translit)) <= max(2, len(translit) // 3)
        return found[near]

    def _similar(
        self, found: np.ndarray, plain: str, folded: str, translit: str
    ) -> list[tuple[int, float]]:
        if not found.size:
            return []
        vids = found.tolist()
        sims = np.zeros(len(vids), dtype=np.float32)
        for query, table, factor in (
            (plain, self._vocab, 1.0),
            (folded, self._vocab_folded, 1.0),
            (translit, self._vocab_translit, TRANSLIT_FACTOR),
        ):
            choices = table.take(vids)
            jw = process.cdist([query], choices, scorer=JaroWinkler.normalized_similarity)[0]
            osa = process.cdist([query], choices, scorer=OSA.normalized_similarity)[0]
            np.maximum(sims, (jw + osa) / 2 * factor, out=sims)
        keep = np.flatnonzero(sims >= BLOCK_MIN)
        return [(vids[i], float(sims[i])) for i in keep.tolist()]

    def candidates(self, query: ScreeningQuery, limit: int = CANDIDATES) -> np.ndarray:
        """Positions of the entries worth scoring for this query (best first, at most limit)."""
        n = len(self)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        groups: dict[str, tuple[str, str, str]] = {}  # one group per folded word
        widest = 0
        for name in query.names:
            for form in blocking_tokens(name):
                groups.setdefault(form[1], form)
            widest = max(widest, sum(1 for t in name.tokens if not t.initial))
        need = min(2, widest) if widest else 1
        s = self._take_scratch()
        touched_parts: list[np.ndarray] = []
        try:
            for form in groups.values():
                matches = sorted(self.similar_tokens(*form), key=lambda m: m[1])
                if not matches:
                    continue
                parts = []
                for vid, sim in matches:  # ascending: the best similarity is written last
                    post = self._postings[self._indptr[vid] : self._indptr[vid + 1]]
                    s.tmp[post] = sim
                    parts.append(post)
                idx = np.concatenate(parts)
                s.acc[idx] += s.tmp[idx]  # repeated positions add once (buffered fancy add)
                s.cnt[idx] += 1
                s.tmp[idx] = 0.0
                touched_parts.append(idx)
            if touched_parts:
                touched = np.concatenate(touched_parts)
                chosen = np.unique(touched[s.cnt[touched] >= need])
                prior = s.acc[chosen] / max(len(groups), 1)
            else:
                chosen = np.zeros(0, dtype=np.int64)
                prior = np.zeros(0, dtype=np.float32)
        finally:
            for idx in touched_parts:
                s.acc[idx] = 0.0
                s.cnt[idx] = 0
            self._scratch_free.put(s)
        chosen = chosen.astype(np.int64)
        if query.documents:
            extra = [p for d in query.documents for p in self._entries_with(d)]
            if extra:
                chosen = np.concatenate([chosen, np.array(extra, dtype=np.int64)])
                prior = np.concatenate([prior, np.full(len(extra), 9.0, dtype=np.float32)])
                # An entry found by both name and document: keep it once, with the best prior.
                order = np.argsort(-prior, kind="stable")
                chosen, prior = chosen[order], prior[order]
                _, first = np.unique(chosen, return_index=True)
                chosen, prior = chosen[first], prior[first]
        if query.on is not None and chosen.size:
            day = query.on.toordinal()
            ok = (self._valid_from[chosen] <= day) & (
                (self._valid_to[chosen] == 0) | (self._valid_to[chosen] >= day)
            )
            chosen, prior = chosen[ok], prior[ok]
        if chosen.size > limit:
            prior = prior + self._birth_prior(query.birth, chosen)
            initials = _initials_mask(list(query.names))
            if initials and any(t.initial for n in query.names for t in n.tokens):
                agree = (self._letters[chosen] & np.uint32(initials)) == np.uint32(initials)
                prior = prior + np.where(agree, 0.3, 0.0).astype(np.float32)
            top = np.argpartition(-prior, limit - 1)[:limit]
            chosen, prior = chosen[top], prior[top]
        return chosen[np.argsort(-prior, kind="stable")]

    def _entries_with(self, document: str) -> list[int]:
        h = stable_hash([document])
        lo, hi = (
            np.searchsorted(self._doc_hash, h[0], "left"),
            np.searchsorted(self._doc_hash, h[0], "right"),
        )
        return [p for p in self._doc_pos[lo:hi].tolist() if document in self._documents_of(p)]

    def _documents_of(self, pos: int) -> frozenset[str]:
        a, b = int(self._entry_doc_ptr[pos]), int(self._entry_doc_ptr[pos + 1])
        return frozenset(self._entry_docs[i] for i in range(a, b))

    def _birth_prior(self, birth: BirthDate | None, chosen: np.ndarray) -> np.ndarray:
        """A cheap birth-date agreement bonus to rank many same-name candidates."""
        if birth is None:
            return np.zeros(chosen.size, dtype=np.float32)
        year = self._year[chosen]
        bonus = np.where(year == birth.year, 0.2, np.where(year == 0, 0.0, -0.2))
        if birth.full:
            same_day = (self._month[chosen] == birth.month) & (self._day[chosen] == birth.day)
            swapped = (self._month[chosen] == birth.day) & (self._day[chosen] == birth.month)
            bonus = bonus + np.where(same_day | swapped, 0.2, 0.0)
        return bonus.astype(np.float32)

    def _birth(self, pos: int) -> BirthDate | None:
        y = int(self._year[pos])
        if not y:
            return None
        m, d = int(self._month[pos]), int(self._day[pos])
        return BirthDate(y, m or None, d or None)

    def candidate(self, pos: int) -> Candidate:
        names = tuple(normalise_name(n) for n in self._names[pos].split(_NAME_SEP))
        return Candidate(
            names=names,
            birth=self._birth(pos),
            nationalities=self._nat_sets[int(self._nat[pos])],
            documents=self._documents_of(pos),
        )

    def screen(
        self,
        query: ScreeningQuery,
        *,
        threshold: float = THRESHOLD,
        limit: int = 20,
        candidates: int = CANDIDATES,
    ) -> list[Match]:
        """Entries scoring at or above ``threshold``, best first."""
        out = []
        for pos in self.candidates(query, candidates).tolist():
            result = score(query, self.candidate(pos))
            if result.score >= threshold:
                out.append(
                    Match(
                        key=self._keys[pos],
                        score=result.score,
                        features=result.features,
                        explanation=result.explanation,
                        matched_name=result.matched_name,
                        names=tuple(self._names[pos].split(_NAME_SEP)),
                        birth=self._birth(pos),
                        payload=self._payloads[pos],
                    )
                )
        out.sort(key=lambda m: (-m.score, m.key))
        return out[:limit]
