"""From linked pairs to identities, honouring what people decided (pure, no I/O).

Records are linked into one identity by the pairs the model linked on its own (above the
auto-link threshold) and those a supervisor linked. A pair a supervisor rejected, or cut by
unlinking a record, is never joined again by the model: when the other links of a cluster
would join a rejected pair, the cluster is split at the weakest automatic link that does it
(people's decisions win over the model's).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    left: str
    right: str
    probability: float
    manual: bool = False  # linked by a person: never dropped to honour a rejection


class _Forest:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def cluster(
    keys: Iterable[str], links: Iterable[Link], rejected: Iterable[tuple[str, str]]
) -> dict[str, str]:
    """Each record key -> the key of its cluster's representative (its smallest key).

    Manual links are applied first, then automatic ones strongest first; an automatic link
    that would put a rejected pair in one cluster is skipped.
    """
    forest = _Forest()
    for k in keys:
        forest.find(k)
    apart: dict[str, set[str]] = defaultdict(set)
    for a, b in rejected:
        apart[a].add(b)
        apart[b].add(a)
    members: dict[str, set[str]] = {}

    def group(root: str) -> set[str]:
        return members.setdefault(root, {root})

    ordered = sorted(links, key=lambda ln: (not ln.manual, -ln.probability, ln.left, ln.right))
    for ln in ordered:
        ra, rb = forest.find(ln.left), forest.find(ln.right)
        if ra == rb:
            continue
        ga, gb = group(ra), group(rb)
        if not ln.manual and any(apart[x] & gb for x in ga):
            continue
        forest.union(ra, rb)
        root = forest.find(ra)
        merged = ga | gb
        members.pop(ra, None)
        members.pop(rb, None)
        members[root] = merged
    return {k: forest.find(k) for k in list(forest.parent)}


def assign_ids(
    clusters: Mapping[str, str],
    previous: Mapping[str, uuid.UUID],
    new_id: Callable[[], uuid.UUID],
) -> dict[str, uuid.UUID]:
    """An identity id for every record, kept stable across runs.

    A cluster takes the id most of its members had (ties: the smallest id); an id claimed
    by a larger cluster first is not reused, so a split gives the smaller part a new id.
    """
    by_root: dict[str, list[str]] = defaultdict(list)
    for key, root in clusters.items():
        by_root[root].append(key)
    taken: set[uuid.UUID] = set()
    out: dict[str, uuid.UUID] = {}
    for root in sorted(by_root, key=lambda r: (-len(by_root[r]), r)):
        votes = Counter(previous[k] for k in by_root[root] if k in previous)
        chosen = None
        for ident, _n in sorted(votes.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            if ident not in taken:
                chosen = ident
                break
        if chosen is None:
            chosen = new_id()
        taken.add(chosen)
        for key in by_root[root]:
            out[key] = chosen
    return out
