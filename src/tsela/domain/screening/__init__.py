"""Watchlist screening: pure matching logic (no I/O).

- ``normalise``: names to tokens (case, accents, titles, particles, initials);
- ``orthography``: Sesotho Lesotho/South African spellings folded to one key;
- ``scoring``: one query against one entry, a score in [0, 1] with its reasons;
- ``index``: the in-memory index that finds the candidates to score.
"""

from tsela.domain.screening.index import Match, ScreeningIndex, WatchlistPerson
from tsela.domain.screening.normalise import (
    MAX_NAME_LENGTH,
    NormalisedName,
    ScreeningInputError,
    normalise_name,
)
from tsela.domain.screening.orthography import fold_token
from tsela.domain.screening.scoring import (
    THRESHOLD,
    BirthDate,
    ScreeningQuery,
    make_query,
    normalise_document,
    parse_birth_date,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "THRESHOLD",
    "BirthDate",
    "Match",
    "NormalisedName",
    "ScreeningIndex",
    "ScreeningInputError",
    "ScreeningQuery",
    "WatchlistPerson",
    "fold_token",
    "make_query",
    "normalise_document",
    "normalise_name",
    "parse_birth_date",
]
