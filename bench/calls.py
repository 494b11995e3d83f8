"""Python calls per request of a workload, counted in process: the ASGI app called as
granian calls it (one coroutine per request, production settings), a warm-up that opens
every pooled connection, then `--requests` requests `--concurrency` at a time under
cProfile. Deterministic where the machine's load is not: the calls a request makes do
not depend on how busy the cores are.

    PYTHONPATH=$PWD .venv/bin/python -m bench.calls DATABASE_URL --only contract

DATABASE_URL names a database with the bench's data (bench/dashboard.py `prepare`:
the demo and its customers); `--top` lists the functions with the most calls, `--dump`
writes each workload's profile for pstats.

The two mutations are dry runs, so that a run leaves the data as it found it and the
next counts the same work: `changeInstallment` as the bench sends it (85.00 for the
customer's first contract), `submitMeterReading` a reading of the customer's first
meter an hour ago on its line (bench/wrk_bench.lua's value, between its neighbours and
inside its band), one client key per customer."""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
import typer
from strawberry import relay

from bench import dataset, workloads
from bench.dashboard import ours_environment

Send = Callable[[dict[str, Any]], Awaitable[None]]
SUBMIT = (
    "mutation($i: SubmitMeterReadingInput!) { submitMeterReading(input: $i) { __typename"
    " ... on MeterReadingRefused { reason } ... on MutationError { code } } }"
)


def _submission(contact: int, shape: dataset.Shape) -> dict[str, Any]:
    """A dry-run reading of the contact's first meter an hour ago, on the meter's line."""
    line = dataset.MeterLine(shape.meters_of(contact)[0])
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=contact)
    days = (at - dataset.LINE_ORIGIN).total_seconds() / 86400
    return workloads.graphql_body(
        SUBMIT,
        i={
            "meterId": line.meter_global_id,
            "value": f"{line.base + line.per_day * days:.3f}",
            "clientKey": f"calls-{contact}",
            "readAt": at.isoformat().replace("+00:00", "Z"),
            "dryRun": True,
        },
    )


# An answer with one of these is not the work counted: an error, or a mutation refused.
REFUSED = (b'"errors"', b'"code"', b'"reason"')
QUERIES = {
    "dashboard": lambda contact, shape: workloads.graphql_body(workloads.DASHBOARD),
    "portalHome": lambda contact, shape: workloads.graphql_body(workloads.PORTAL_HOME),
    "contract": lambda contact, shape: workloads.graphql_body(
        workloads.CONTRACT,
        id=relay.to_base64("Contract", workloads.contract_of(contact, shape)),
    ),
    "changeInstallment": lambda contact, shape: workloads.graphql_body(
        workloads.CHANGE_INSTALLMENT,
        i={
            "contractId": relay.to_base64("Contract", workloads.contract_of(contact, shape)),
            "amount": "85.00",
            "dryRun": True,
        },
    ),
    "submitMeterReading": _submission,
}


async def _lifespan(app: Any) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan; the coroutine that ends it."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"

    async def stop() -> None:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task

    return stop


async def post(app: Any, body: bytes, token: str | None) -> tuple[int, bytes]:
    """One POST /graphql through the ASGI app, as a server calls it."""
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _load(
    app: Any, name: str, bodies: list[tuple[bytes, str]], count: int, at_once: int
) -> None:
    """`count` requests of `bodies` in turn, `at_once` at a time; each must answer data."""
    semaphore = asyncio.Semaphore(at_once)

    async def one(index: int) -> None:
        body, token = bodies[index % len(bodies)]
        async with semaphore:
            status, answer = await post(app, body, token)
        if status != 200 or any(marker in answer for marker in REFUSED):
            raise RuntimeError(f"{name}: {status} {answer[:300]!r}")

    await asyncio.gather(*(one(i) for i in range(count)))


async def _run(
    url: str, only: list[str], contacts: int, requests: int, concurrency: int, top: int, dump: str
) -> dict[str, Any]:
    os.environ.update({"DATABASE_URL": url, **ours_environment("production")})
    from gql.app import app_from_environment

    app = app_from_environment()
    stop = await _lifespan(app)
    shape = dataset.Shape()
    tokens: dict[int, str] = {}
    for contact in range(1, contacts + 1):
        _, answer = await post(app, orjson.dumps(workloads.login_body(contact)), None)
        tokens[contact] = orjson.loads(answer)["data"]["login"]["accessToken"]
    results: dict[str, Any] = {}
    try:
        for name in only:
            bodies = [
                (orjson.dumps(QUERIES[name](contact, shape)), token)
                for contact, token in tokens.items()
            ]

            await _load(app, name, bodies, 200, 32)  # every pooled connection open, plans cached
            profile = cProfile.Profile()
            started = time.process_time()
            profile.enable()
            await _load(app, name, bodies, requests, concurrency)
            profile.disable()
            cpu = time.process_time() - started
            stats = pstats.Stats(profile)
            calls = sum(entry[1] for entry in stats.stats.values())  # type: ignore[attr-defined]
            results[name] = {
                "calls_per_request": round(calls / requests, 1),
                "cpu_ms_per_request_profiled": round(cpu * 1000 / requests, 3),
            }
            if top:
                stats.sort_stats("ncalls").print_stats(top)
            if dump:
                stats.dump_stats(f"{dump}.{name}.prof")
    finally:
        await stop()
    return results


def main(
    url: Annotated[str, typer.Argument(help="The bench database (SQLAlchemy URL).")],
    only: Annotated[list[str], typer.Option(help=f"Workloads: {', '.join(QUERIES)}.")],
    contacts: Annotated[int, typer.Option(help="Customers logged in and cycled.")] = 200,
    requests: Annotated[int, typer.Option(help="Requests profiled per workload.")] = 2000,
    concurrency: Annotated[int, typer.Option(help="Requests at once.")] = 8,
    top: Annotated[int, typer.Option(help="List this many functions by calls.")] = 0,
    dump: Annotated[
        str, typer.Option(help="Write each workload's profile to DUMP.<name>.prof")
    ] = "",
) -> None:
    results = asyncio.run(_run(url, only, contacts, requests, concurrency, top, dump))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    typer.run(main)
