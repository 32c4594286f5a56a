"""The screening index on disk (issue 14 §2): saved once per set of list versions, mapped by
every process, never trusted when damaged or stale, and the same answers as a fresh build."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

import screening_data
from tsela.domain.screening import ScreeningIndex, WatchlistPerson, make_query
from tsela.domain.screening.index import stable_hash
from tsela.services import screening
from tsela.services.screening import import_watchlist, index_cache, screen
from tsela.store import index_files
from tsela.store.db import make_engine
from tsela.store.watchlists import WatchlistCategory

TODAY = date(2026, 11, 25)
SIG = (("01a2", 3), ("01b7", 1))


def _synthetic(n: int) -> tuple[list[WatchlistPerson], list[Any]]:
    pairs = list(screening_data.make_people(n, seed=5))
    people = [
        dataclasses.replace(
            p,
            documents=frozenset({f"RA{i:07d}"}) if i % 7 == 0 else frozenset(),
            payload=json.dumps({"entry": i}),
        )
        for i, (p, _) in enumerate(pairs)
    ]
    queries = screening_data.make_queries(pairs, 300, 100, seed=6)
    return people, queries


def _answers(index: ScreeningIndex, queries: list[Any]) -> list[Any]:
    out = []
    for q in queries:
        query = make_query(
            q.names, today=TODAY, birth_date=q.birth, nationality=q.nationality, on=TODAY
        )
        out.append(
            (
                index.candidates(query).tolist(),
                [dataclasses.astuple(m) for m in index.screen(query)],
            )
        )
    docs = make_query(["Nobody Known"], today=TODAY, documents=["RA0000070"], on=TODAY)
    out.append([dataclasses.astuple(m) for m in index.screen(docs, threshold=0.0)])
    return out


def test_the_index_on_disk_answers_exactly_as_a_fresh_build(tmp_path: Path) -> None:
    people, queries = _synthetic(3_000)
    fresh = ScreeningIndex.build(people)
    index_files.save(tmp_path, SIG, fresh)
    mapped = index_files.load(tmp_path, SIG)
    assert mapped is not None
    assert isinstance(mapped._postings, np.memmap)  # mapped, not read into this process
    assert isinstance(mapped._names.data, np.memmap)
    answers = _answers(mapped, queries)
    assert answers == _answers(ScreeningIndex.build(people), queries)
    assert sum(bool(hits) for _, hits in answers[:-1]) > 200  # the queries do find people
    assert answers[-1][0][0] == "70" and answers[-1][0][-1] == json.dumps({"entry": 70})
    assert mapped.stats() == fresh.stats()


def test_fuzzy_keys_hash_the_same_in_every_process() -> None:
    keys = ["mokoena", "%mkn", "#mkn", "tšepo", "", "x" * 300]
    here = stable_hash(keys).tolist()
    code = (
        "import json; from tsela.domain.screening.index import stable_hash; "
        f"print(json.dumps(stable_hash({keys!r}).tolist()))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == here
    assert len(set(here)) == len(keys)


def _damage(directory: Path, how: str) -> None:
    manifest = json.loads((directory / index_files.MANIFEST).read_text())
    biggest = max(manifest["files"].values(), key=lambda f: f["bytes"])
    path = directory / biggest["file"]
    if how == "flipped byte":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    elif how == "missing file":
        path.unlink()
    elif how == "garbled manifest":
        (directory / index_files.MANIFEST).write_text("{not json")
    elif how == "other format":
        manifest["format"] = -1
        (directory / index_files.MANIFEST).write_text(json.dumps(manifest))
    elif how == "array swapped":  # a consistent file set, but the wrong array in a slot
        names = sorted(manifest["files"])
        a, b = manifest["files"][names[0]], manifest["files"][names[1]]
        manifest["files"][names[0]], manifest["files"][names[1]] = b, a
        (directory / index_files.MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "how",
    [
        "flipped byte",
        "truncated",
        "missing file",
        "garbled manifest",
        "other format",
        "array swapped",
    ],
)
def test_a_damaged_index_is_never_trusted(tmp_path: Path, how: str) -> None:
    people, _ = _synthetic(500)
    directory = index_files.save(tmp_path, SIG, ScreeningIndex.build(people))
    _damage(directory, how)
    assert index_files.load(tmp_path, SIG) is None
    assert not directory.exists()  # removed, so that it is built again


def test_an_index_of_other_list_versions_is_not_used(tmp_path: Path) -> None:
    people, _ = _synthetic(200)
    directory = index_files.save(tmp_path, SIG, ScreeningIndex.build(people))
    newer = (("01a2", 4), ("01b7", 1))
    # Even when put where the newer versions' index belongs, it says what it was built from.
    directory.rename(index_files.index_dir(tmp_path, newer))
    assert index_files.load(tmp_path, newer) is None


# -- through the service, on both back ends --------------------------------------------------


def _load(engine: Engine, csv: str, **kw: Any) -> None:
    import_watchlist(
        engine,
        list_name="wanted",
        data=csv,
        fmt="csv",
        actor="test",
        node="LS",
        category=WatchlistCategory.WANTED,
        confirm=True,
        **kw,
    )


def _names(engine: Engine, name: str) -> list[str]:
    return [h.names[0] for h in screen(engine, name, today=TODAY)]


def test_a_restarted_process_maps_the_saved_index_and_a_corrupt_one_is_rebuilt(
    engine: Engine, tmp_path: Path
) -> None:
    _load(engine, "name,birth_date\nLineo Mokoena,1985-03-14\nThabo Letsie,1970\n")
    first = _fresh_engine(engine, tmp_path)
    assert _names(first, "Lineo Mokoena") == ["Lineo Mokoena"]
    (saved,) = [p for p in (tmp_path / screening.INDEX_DIR_NAME).iterdir() if p.is_dir()]

    second = _fresh_engine(engine, tmp_path)  # a restart, or another worker
    index = screening.current_index(second)
    assert isinstance(index._postings, np.memmap)
    hit = screen(second, "Thabo Letsie", today=TODAY)[0]
    assert (hit.list_name, hit.list_version, hit.category, hit.birth_date) == (
        "wanted",
        1,
        "wanted",
        "1970",
    )

    _damage(saved, "flipped byte")
    third = _fresh_engine(engine, tmp_path)
    assert _names(third, "Lineo Mokoena") == ["Lineo Mokoena"]  # rebuilt, right answers
    assert index_files.load(tmp_path / screening.INDEX_DIR_NAME, _sig(third)) is not None
    for e in (first, second, third):
        e.dispose()


def _fresh_engine(engine: Engine, var_dir: Path) -> Engine:
    """Another engine on the same database: a cache of its own, like another process."""
    url = engine.url.render_as_string(hide_password=False)
    schema = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SHOW search_path").scalar()
    other = make_engine(url, schema=schema)
    screening.keep_index_on_disk(other, var_dir)
    return other


def _sig(engine: Engine) -> Any:
    from tsela.store.db import session_factory

    with session_factory(engine)() as s:
        return index_cache.signature(s)


def test_a_new_list_version_is_picked_up_while_the_old_one_serves(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(engine, "name\nLineo Mokoena\nThabo Letsie\n")
    server = _fresh_engine(engine, tmp_path)
    old = screening.current_index(server)
    assert _names(server, "Lineo Mokoena") == ["Lineo Mokoena"]

    _load(engine, "name\nPalesa Mofokeng\nThabo Letsie\n")  # imported by another process
    monkeypatch.setattr(index_cache, "SIGNATURE_TTL_S", 0.0)
    # The next screening sees the new versions and answers from the old index meanwhile.
    assert screening.current_index(server) is old
    deadline = time.monotonic() + 120
    while screening.current_index(server) is old and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _names(server, "Palesa Mofokeng") == ["Palesa Mofokeng"]
    assert _names(server, "Lineo Mokoena") == []
    hit = screen(server, "Thabo Letsie", today=TODAY)[0]
    assert hit.list_version == 2
    assert index_files.load(tmp_path / screening.INDEX_DIR_NAME, _sig(server)) is not None
    server.dispose()


def test_a_starting_server_maps_the_index_beside_its_routes_and_collects_garbage_again(
    engine: Engine, tmp_path: Path
) -> None:
    """``create_app(preload=True)`` (what ``tsela serve`` builds) starts mapping the saved
    index before it imports and builds its routes, and the app's start-up turns the garbage
    collector, off while the server started, back on."""
    import gc
    import threading

    from starlette.testclient import TestClient

    from tsela.api.app import create_app
    from tsela.config import Settings

    _load(engine, "name,birth_date\nLineo Mokoena,1985-03-14\n")
    screening.current_index(_fresh_engine(engine, tmp_path))  # saved by an earlier process
    server = _fresh_engine(engine, tmp_path)
    settings = Settings(database_url=str(server.url), node="LS", var_dir=tmp_path)
    gc.disable()  # as `tsela serve` does
    try:
        app = create_app(settings, server, preload=True)
        for thread in threading.enumerate():
            if thread.name == "screening-index-preload":
                thread.join(120)
        state = screening.index_state(server)  # before the app's start-up has run
        assert state.loaded and isinstance(screening.current_index(server)._postings, np.memmap)
        with TestClient(app):
            assert gc.isenabled()
            assert _names(server, "Lineo Mokoena") == ["Lineo Mokoena"]
    finally:
        gc.enable()
        server.dispose()
