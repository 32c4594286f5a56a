"""Shared helpers for the command line: one clear line on bad input, never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from tsela.config import ConfigError, Settings, load_clock, load_settings
from tsela.extras import missing_extra
from tsela.kernel.clock import Clock
from tsela.reference import UnknownPortError

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)

# Exceptions whose message is meant for the user; anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ConfigError, UnknownPortError, ValueError)


def fail(message: str, code: int = 2) -> NoReturn:
    # Escaped: a message may hold brackets (pip install 'tsela[observatory]', a list's name).
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected errors into one red line and exit status 2 (a missing optional extra
    too: the line says which to install)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            fail(str(exc))
        except ImportError as exc:
            line = missing_extra(exc)
            if line is None:
                raise
            fail(line)

    return wrapper


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc))


def clock() -> Clock:
    """The command line's clock, the one source of "now" and "today at the border" for
    commands: the machine's, or the instant ``TSELA_CLOCK`` names (tests and demonstrations
    only; see ``tsela.config``)."""
    try:
        return load_clock()
    except ConfigError as exc:
        fail(str(exc))


def is_tty() -> bool:
    return sys.stderr.isatty()
