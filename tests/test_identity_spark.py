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


def test_spark_and_duckdb_find_the_same_duplicates(spark) -> None:  # type: ignore[no-untyped-def]
    people = list(population(1500, dup_share=0.12, seed=5))
    rows = [features(p.record) for p in people]
    truth = {p.record.key: p.truth for p in people}
    dups = {p.record.key for p in people if p.kind != "original"}
    duck = engine.resolve(rows)
    # The model trained on DuckDB, applied by Spark: the same pairs, the same probabilities.
    on_spark = engine.resolve(rows, model=duck.model, engine="spark", spark=spark)
    _review, auto = thresholds()

    def linked(res: engine.Resolution) -> set[tuple[str, str]]:
        return {(p.left, p.right) for p in res.pairs if p.probability >= auto}

    assert linked(on_spark) == linked(duck)
    by_pair = {(p.left, p.right): p.probability for p in duck.pairs}
    for p in on_spark.pairs:
        assert p.probability == pytest.approx(by_pair[(p.left, p.right)], abs=1e-6)
    # Trained on Spark from scratch: it finds the injected duplicates too.
    trained = engine.resolve(rows, engine="spark", spark=spark)
    found = {
        k for p in trained.pairs if truth[p.left] == truth[p.right] for k in (p.left, p.right)
    } & dups
    assert len(found) / len(dups) >= 0.9
    assert all(truth[a] == truth[b] for a, b in linked(trained))
