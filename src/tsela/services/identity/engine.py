"""Batch resolution with Splink: Tsela's comparison table as Splink settings, trained by EM
and run on DuckDB (one server, the default) or Spark (continental scale).

This is the one module that knows Splink. It takes feature rows (``domain.identity.features``)
and gives back the scored pairs above the review threshold and the trained model (a Splink
model dictionary, saved by the caller with its version).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tsela.domain.identity import (
    COMPARISONS,
    FEATURES,
    Comparison,
    Contribution,
    Level,
    contributions_from_row,
    format_version,
    settings,
    thresholds,
)
from tsela.kernel.errors import Invalid

ENGINES = ("duckdb", "spark")
_FORMAT_KEY = "tsela_identity_format"


@dataclass(frozen=True)
class ScoredPair:
    left: str
    right: str
    probability: float
    weight: float
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class Resolution:
    pairs: list[ScoredPair]
    model: dict[str, Any]  # the Splink model, with Tsela's format number added
    version: str


def _level(cll: Any, comp: Comparison, level: Level) -> Any:
    col = comp.column
    if level.kind == "null":
        return cll.NullLevel(col)
    if level.kind == "exact":
        return cll.ExactMatchLevel(col, term_frequency_adjustments=level.tf)
    if level.kind == "jw":
        return cll.JaroWinklerLevel(col, level.arg)
    if level.kind == "dl":
        return cll.DamerauLevenshteinLevel(col, int(level.arg))
    if level.kind == "reversed":
        return cll.ColumnsReversedLevel("surname_fold", "given_fold")
    if level.kind == "swapped":
        return cll.CustomLevel(
            f'substr("{col}_l", 1, 4) = substr("{col}_r", 1, 4) '
            f'AND substr("{col}_l", 6, 2) = substr("{col}_r", 9, 2) '
            f'AND substr("{col}_l", 9, 2) = substr("{col}_r", 6, 2)',
            label_for_charts="day and month swapped",
        )
    if level.kind == "year":
        return cll.CustomLevel(
            f'substr("{col}_l", 1, 4) = substr("{col}_r", 1, 4)', label_for_charts="same year"
        )
    if level.kind == "else":
        return cll.ElseLevel()
    raise ValueError(f"unknown level kind {level.kind!r}")


def splink_settings() -> Any:
    """Tsela's comparisons and blocking rules as a Splink ``SettingsCreator``."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons: list[Any] = [
        cl.CustomComparison(
            comparison_levels=[_level(cll, comp, lv) for lv in comp.levels],
            output_column_name=comp.field,
            comparison_description=comp.field,
        )
        for comp in COMPARISONS
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            block_on(*cols) for cols in settings()["blocking"]["rules"]
        ],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


def model_version(model: dict[str, Any]) -> str:
    """A short, stable name of a trained model: its format and a hash of its numbers."""
    body = json.dumps(model, sort_keys=True, default=str).encode()
    return f"f{format_version()}-{hashlib.sha256(body).hexdigest()[:12]}"


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise Invalid(
            "identity.engine",
            "Unknown engine %(engine)s: use %(engines)s.",
            engine=engine,
            engines=" or ".join(ENGINES),
        )


def check_model(model: dict[str, Any]) -> None:
    """Refuse a model file written under another comparison format (or not a model at all)."""
    found = model.get(_FORMAT_KEY) if isinstance(model, dict) else None
    if found != format_version():
        raise Invalid(
            "identity.model_format",
            "The model file was written for identity model format %(found)s; this Tsela "
            "reads format %(expected)s. Train a new model (tsela identity resolve --train).",
            found=found if found is not None else "unknown",
            expected=format_version(),
        )
    names = [c.get("output_column_name") for c in model.get("comparisons", [])]
    if names != [c.field for c in COMPARISONS]:
        raise Invalid(
            "identity.model_comparisons",
            "The model file compares %(found)s; this Tsela compares %(expected)s.",
            found=", ".join(map(str, names)),
            expected=", ".join(c.field for c in COMPARISONS),
        )


def _db_api(engine: str, spark: Any = None) -> Any:
    if engine == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI()
    if engine == "spark":
        from splink.backends.spark import SparkAPI

        if spark is None:
            spark = local_spark()
        if spark.sparkContext.getCheckpointDir() is None:
            # Splink checkpoints intermediate tables to cut Spark's long query plans.
            import tempfile

            spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="tsela-spark-"))
        return SparkAPI(spark_session=spark)
    check_engine(engine)
    raise AssertionError(engine)


def local_spark(cores: int = 2) -> Any:
    """A Spark session in local mode with Splink's string-similarity functions (its jar).

    On a cluster, build the session there (with the same ``spark.jars``) and pass it in.
    """
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("tsela-identity")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", str(cores * 4))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def _input(db_api: Any, engine: str, rows: Sequence[dict[str, Any]], spark: Any) -> Any:
    if engine == "spark":
        from pyspark.sql.types import IntegerType, StringType, StructField, StructType

        session = spark or db_api.spark
        schema = StructType(
            [
                StructField(c, IntegerType() if c == "birth_year" else StringType(), True)
                for c in FEATURES
            ]
        )
        records = [tuple(row.get(c) for c in FEATURES) for row in rows]
        return db_api.register(session.createDataFrame(records, schema=schema))
    import pandas as pd

    return db_api.register(pd.DataFrame.from_records(list(rows), columns=list(FEATURES)))


def _train(linker: Any, records: int) -> None:
    from splink import block_on

    conf = settings()["training"]
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on("doc_fold"), block_on("surname_fold", "given_fold", "birth_date")],
            recall=float(conf["deterministic_recall"]),
        )
        linker.training.estimate_u_using_random_sampling(
            max_pairs=float(conf["u_max_pairs"]), seed=7
        )
        for cols in conf["em_blocks"]:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*cols), estimate_without_term_frequencies=True
            )
    except (ArithmeticError, ValueError) as exc:
        # EM needs pairs that are likely one person: a register with none (every record
        # distinct, or too few records) leaves nothing to estimate from.
        raise Invalid(
            "identity.training_failed",
            "A model cannot be trained on these %(n)s records (%(why)s): they hold too few "
            "likely duplicates. Train on a larger set, or give a trained model "
            "(tsela identity resolve --model FILE).",
            n=records,
            why=str(exc) or type(exc).__name__,
        ) from None


def resolve(
    rows: Sequence[dict[str, Any]],
    *,
    model: dict[str, Any] | None = None,
    engine: str = "duckdb",
    spark: Any = None,
) -> Resolution:
    """Score every candidate pair of ``rows`` at or above the review threshold.

    With ``model`` the given trained model is used as it is (checked first); without, a new
    one is trained on ``rows`` by EM.
    """
    from splink import Linker

    if model is not None:
        check_model(model)
    db_api = _db_api(engine, spark)
    table = _input(db_api, engine, rows, spark)
    trained: dict[str, Any]
    if model is not None:
        linker = Linker(table, _for_dialect(model, engine), log_level=logging.ERROR)
    else:
        linker = Linker(table, splink_settings(), log_level=logging.ERROR)
        _train(linker, len(rows))
    trained = dict(linker.misc.save_model_to_json())
    trained[_FORMAT_KEY] = format_version()
    review, _auto = thresholds()
    predictions = linker.inference.predict(threshold_match_probability=review)
    pairs = list(_pairs(predictions))
    return Resolution(pairs, trained, model_version(trained))


def _for_dialect(model: dict[str, Any], engine: str) -> dict[str, Any]:
    """A trained model ready for ``engine``: the comparisons' SQL written for that engine
    (a model trained on DuckDB runs on Spark), the trained numbers carried over."""
    fresh = splink_settings().create_settings_dict(sql_dialect_str=engine)
    fresh["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    trained = {c["output_column_name"]: c for c in model["comparisons"]}
    for comp in fresh["comparisons"]:
        old_levels = trained[comp["output_column_name"]]["comparison_levels"]
        for level, old in zip(comp["comparison_levels"], old_levels, strict=True):
            for key in ("m_probability", "u_probability", "tf_adjustment_weight"):
                if key in old:
                    level[key] = old[key]
    return dict(fresh)


def _pairs(predictions: Any) -> Iterator[ScoredPair]:
    for row in predictions.as_record_list():
        left, right = str(row["record_key_l"]), str(row["record_key_r"])
        if right < left:
            left, right = right, left
        weight = float(row["match_weight"])
        yield ScoredPair(
            left,
            right,
            float(row["match_probability"]),
            weight if math.isfinite(weight) else 0.0,
            contributions_from_row(row),
        )
