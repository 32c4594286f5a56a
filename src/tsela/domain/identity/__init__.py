"""Identity resolution: which person records are one person (pure logic, no I/O).

- ``features``: person records and the folded features they are compared on;
- ``model``: the comparisons and their levels, and scoring a pair with trained parameters;
- ``clusters``: from linked pairs to identities, honouring people's decisions.

Batch resolution with Splink (DuckDB or Spark) is ``tsela.services.identity``.
"""

from tsela.domain.identity.clusters import Link, assign_ids, cluster, pair_key
from tsela.domain.identity.features import (
    FEATURES,
    PersonRecord,
    blocking_keys,
    features,
    fold_document,
    fold_name,
    settings,
)
from tsela.domain.identity.model import (
    COMPARISONS,
    Comparison,
    Contribution,
    Level,
    PairScore,
    Parameters,
    contributions_from_row,
    format_version,
    probability_of,
    score_many,
    score_pair,
    thresholds,
)

__all__ = [
    "COMPARISONS",
    "FEATURES",
    "Comparison",
    "Contribution",
    "Level",
    "Link",
    "PairScore",
    "Parameters",
    "PersonRecord",
    "assign_ids",
    "blocking_keys",
    "cluster",
    "contributions_from_row",
    "features",
    "fold_document",
    "fold_name",
    "format_version",
    "pair_key",
    "probability_of",
    "score_many",
    "score_pair",
    "settings",
    "thresholds",
]
