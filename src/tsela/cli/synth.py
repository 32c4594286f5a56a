"""``tsela synth`` and ``tsela demo`` (filled in with the synthetic data generator)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app
