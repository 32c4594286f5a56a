"""Screening indexes on disk: built once per set of list versions, memory-mapped by every
server process, so that a restart answers in seconds and N workers share one copy.

``<root>/f<FORMAT>-<digest of the list versions>/`` holds one ``.npy`` file per array of
``ScreeningIndex.parts()`` and ``manifest.json``: the format, the list versions (the
signature) it was built from, the index's metadata, and each file's size and CRC-32. An index
is written into a temporary directory and renamed into place, so a reader finds a whole one
or none. ``load`` maps the files read-only (``numpy.load(mmap_mode="r")``): their pages live
in the page cache, one copy for every process. Anything that does not check out (missing or
extra bytes, a checksum, another format or signature) is never trusted: ``load`` says why
and answers None, and the caller builds the index again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import mmap
import os
import shutil
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsela.domain.screening.index import FORMAT, ScreeningIndex

log = logging.getLogger("tsela.screening")

Signature = Sequence[Sequence[Any]]  # ((list id, version), ...)
MANIFEST = "manifest.json"
LOCK = ".lock"
# Directories of other signatures (and temporary ones a crash left) older than this are
# removed after a save; a process still using one keeps its pages (the files are unlinked,
# not overwritten).
PRUNE_AFTER_S = 600.0


def index_dir(root: Path, signature: Signature) -> Path:
    digest = hashlib.sha256(json.dumps(_plain(signature)).encode()).hexdigest()[:32]
    return root / f"f{FORMAT}-{digest}"


def _plain(signature: Signature) -> list[list[Any]]:
    return [[str(a), int(b)] for a, b in signature]


def _crc(path: Path) -> int:
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return 0
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return zlib.crc32(m)


def save(root: Path, signature: Signature, index: ScreeningIndex) -> Path:
    """Write the index for these list versions (replacing none: a directory is never
    rewritten in place). Returns its directory."""
    root.mkdir(parents=True, exist_ok=True)
    final = index_dir(root, signature)
    tmp = root / f".tmp-{final.name}-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()
    try:
        arrays, meta = index.parts()
        files: dict[str, dict[str, Any]] = {}
        for i, (name, array) in enumerate(sorted(arrays.items())):
            path = tmp / f"{i:02d}.npy"
            with path.open("wb") as f:
                # No fsync: a file torn by a crash fails its checksum and is built again.
                np.save(f, np.ascontiguousarray(array), allow_pickle=False)
            files[name] = {"file": path.name, "bytes": path.stat().st_size, "crc32": _crc(path)}
        manifest = {
            "format": FORMAT,
            "signature": _plain(signature),
            "meta": meta,
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        try:
            tmp.rename(final)
        except OSError:  # another process saved the same versions first: theirs serves
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load(root: Path, signature: Signature, *, verify: bool = True) -> ScreeningIndex | None:
    """The saved index for these list versions, memory-mapped; None when there is none or
    it does not check out (a damaged one is removed, so that it is built again)."""
    directory = index_dir(root, signature)
    if not (directory / MANIFEST).is_file():
        return None
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
        if manifest.get("signature") != _plain(signature):
            raise ValueError("built from other list versions")
        arrays: dict[str, np.ndarray] = {}
        for name, entry in manifest["files"].items():
            path = directory / entry["file"]
            if path.stat().st_size != entry["bytes"]:
                raise ValueError(f"{path.name}: {path.stat().st_size} bytes, not {entry['bytes']}")
            if verify and _crc(path) != entry["crc32"]:
                raise ValueError(f"{path.name}: checksum differs")
            arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
        return ScreeningIndex.from_parts(arrays, manifest["meta"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("screening index %s not used (%s); building it again", directory.name, exc)
        shutil.rmtree(directory, ignore_errors=True)
        return None


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """One process at a time builds (the others wait, then load what it saved)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def prune(root: Path, keep: Path) -> None:
    """Remove the directories of other list versions, and a crash's leftovers, once old."""
    cutoff = time.time() - PRUNE_AFTER_S
    for path in root.iterdir():
        if path == keep or path.name == LOCK or not path.is_dir():
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
