"""Human tables by default, JSON for scripts: one switch, used by every verb."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])

stdout = Console(soft_wrap=True)
# Errors are read by people and grepped by scripts: never hard-wrap them.
stderr = Console(stderr=True, soft_wrap=True)


def json_option(func: F) -> F:
    """Adds --json to a verb; `silkline --json VERB` works as well."""
    return click.option(
        "--json", "as_json", is_flag=True, default=False, help="Print JSON for scripts."
    )(func)


def wants_json(as_json: bool) -> bool:
    ctx = click.get_current_context()
    root = ctx.find_root().obj
    return as_json or bool(isinstance(root, dict) and root.get("json"))


def emit(
    as_json: bool, document: Mapping[str, Any] | Sequence[Mapping[str, Any]], table: Table
) -> None:
    if wants_json(as_json):
        click.echo(json.dumps(document, indent=2, sort_keys=True, default=str))
    else:
        stdout.print(table)


def key_value_table(title: str, rows: Mapping[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list | tuple) else str(value))
    return table
