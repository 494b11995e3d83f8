"""Where a server's time goes: a summary of py-spy's collapsed stacks.

    make bench ARGS="--only dashboard --profile .bench-results/ours.txt"
    .venv/bin/python -m bench.profile .bench-results/ours.txt

Prints the share of samples per part of the stack (a sample counts once for every part
on its stack, so shares add up to more than 100 %), the functions most often on top of
the stack (self time) and our own functions most often anywhere on it.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

# Parts of the stack, by the file a frame is in; the first that matches names the frame.
PARTS = [
    ("query plans", "gql/query_plans.py"),
    ("persisted queries", "gql/persisted_queries.py"),
    ("our auth (tokens, sessions)", "gql/auth/"),
    ("our session check (domain/sessions)", "gql/domain/sessions.py"),
    ("our middleware and app", "gql/app.py"),
    ("our context and session", "gql/context.py"),
    ("our other code", "gql/"),
    ("our database glue", "db/"),
    ("graphql-core", "graphql/"),
    ("strawberry", "strawberry/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("asyncpg", "asyncpg/"),
    ("starlette", "starlette/"),
    ("joserfc", "joserfc/"),
    ("cryptography", "cryptography/"),
    ("structlog and logging", "structlog/"),
    ("asyncio", "asyncio/"),
    ("granian", "granian/"),
]
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

console = Console()


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """Stacks (outermost frame first) as (function, file) pairs with their sample counts."""
    stacks = []
    for line in path.read_text().splitlines():
        text, _, count = line.rpartition(" ")
        if not text or not count.isdigit():
            continue
        frames = []
        for raw in text.split(";"):
            match = FRAME.match(raw)
            frames.append((match["function"], match["file"]) if match else (raw, ""))
        stacks.append((frames, int(count)))
    return stacks


def part_of(file: str) -> str | None:
    """Frames name files relative to site-packages or the working directory."""
    path = "/" + file
    return next((name for name, prefix in PARTS if "/" + prefix in path), None)


def summarize(path: Path, top: int) -> None:
    stacks = parse(path)
    total = sum(count for _, count in stacks)
    mine = {name for name, prefix in PARTS if prefix.startswith(("gql/", "db/"))}
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for frames, count in stacks:
        for part in {part_of(file) for _, file in frames} - {None}:
            parts[str(part)] += count
        function, file = frames[-1]
        if function.startswith("process "):
            function = "(no Python frame: the server's native code or idle)"
        leaves[f"{function} ({_short(file)})"] += count
        for name in {f"{f} ({_short(file)})" for f, file in frames if part_of(file) in mine}:
            ours[name] += count
    console.print(f"{total} samples in {path}")
    for title, counter in [
        ("Parts of the stack (inclusive)", parts),
        ("On top of the stack (self)", leaves),
        ("Our functions (inclusive)", ours),
    ]:
        table = Table(title=title)
        table.add_column("where")
        table.add_column("share", justify="right")
        for name, count in counter.most_common(top):
            table.add_row(name, f"{100 * count / max(total, 1):.1f} %")
        console.print(table)


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/", "/lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def main(
    path: Annotated[Path, typer.Argument(help="py-spy record --format raw output.")],
    top: Annotated[int, typer.Option(help="Rows per table.")] = 20,
) -> None:
    """Summarize py-spy's collapsed stacks of a benchmark run."""
    summarize(path, top)


if __name__ == "__main__":
    typer.run(main)
