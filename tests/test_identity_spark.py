"""Identity resolution on Spark (issue 17, item 4): the same comparisons, blocking and EM
training as on DuckDB, run by Splink's Spark back end with pyspark in local mode.

Run by ``make test-spark`` (it installs pyspark; Java 17+ is needed). Without pyspark this
file is skipped with that one reason.
"""

from __future__ import annotations

import shutil

import pytest

from tsela.domain.identity import features, thresholds
from tsela.services.identity import engine
from tsela.synth.identities import population

pytest.importorskip("pyspark", reason="pyspark is not installed: run make test-spark")
if shutil.which("java") is None:
    pytest.skip("Java is not installed: Spark needs Java 17+", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    session = engine.local_spark(cores=2)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def people():  # type: ignore[no-untyped-def]
    return list(population(1500, dup_share=0.12, seed=5))


def test_a_model_trained_on_spark_finds_the_injected_duplicates(spark, people) -> None:  # type: ignore[no-untyped-def]
    rows = [features(p.record) for p in people]
    truth = {p.record.key: p.truth for p in people}
    dups = {p.record.key for p in people if p.kind != "original"}
    _review, auto = thresholds()
    trained = engine.resolve(rows, engine="spark", spark=spark)
    found = {
        k for p in trained.pairs if truth[p.left] == truth[p.right] for k in (p.left, p.right)
    } & dups
    assert len(found) / len(dups) >= 0.9
    linked = [(p.left, p.right) for p in trained.pairs if p.probability >= auto]
    assert linked and all(truth[a] == truth[b] for a, b in linked)


@pytest.mark.xfail(
    strict=True,
    reason="known gap (issue 17): a DuckDB-trained model run on Spark scores about 90 of 300 "
    "pairs differently; the cause (string functions or term frequencies per engine) is not "
    "found yet",
)
def test_a_duckdb_model_scores_the_same_pairs_on_spark(spark, people) -> None:  # type: ignore[no-untyped-def]
    rows = [features(p.record) for p in people]
    duck = engine.resolve(rows)
    on_spark = engine.resolve(rows, model=duck.model, engine="spark", spark=spark)
    duck_p = {(p.left, p.right): p.probability for p in duck.pairs}
    spark_p = {(p.left, p.right): p.probability for p in on_spark.pairs}
    common = duck_p.keys() & spark_p.keys()
    assert len(duck_p.keys() ^ spark_p.keys()) <= 0.01 * len(common)
