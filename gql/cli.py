"""`portal`: serve, migrate, load demo data, print the schema."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
import uvicorn
from rich.console import Console
from rich.progress import Progress
from strawberry import relay

from db import demo, migrate, models
from db.embedded import EmbeddedPostgres
from db.session import Database
from gql.auth.passwords import environment_for_hashing, hash_password
from gql.auth.secrets import SecretBox, secret_keys
from gql.auth.tokens import TokenService
from gql.domain import documents
from gql.settings import Settings

app = typer.Typer(help="Kundenportal GraphQL backend.", no_args_is_help=True)
console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="postgresql+asyncpg://... ; without it an embedded PostgreSQL is started.",
    ),
]
DataDir = Annotated[
    Path,
    typer.Option("--data-dir", envvar="PORTAL_DATA_DIR", help="Embedded database and dev keys."),
]


@contextlib.contextmanager
def database_url(url: str | None, data_dir: Path) -> Iterator[str]:
    """The given URL, or an embedded PostgreSQL that lives as long as the block."""
    if url:
        yield url
        return
    server = EmbeddedPostgres(data_dir)
    with console.status("Starting embedded PostgreSQL..."):
        embedded_url = server.start()
    console.print(f"[dim]Embedded PostgreSQL in {server.cluster_dir}[/dim]")
    try:
        yield embedded_url
    finally:
        server.stop()
        console.print("[dim]Embedded PostgreSQL stopped.[/dim]")


@contextlib.asynccontextmanager
async def connected(url: str, pool_size: int = 2) -> AsyncIterator[Database]:
    """A database for one command, its connections closed however the command ends."""
    database = Database.from_url(url, pool_size=pool_size)
    try:
        yield database
    finally:
        await database.dispose()


async def _load_demo(url: str, settings: Settings) -> bool:
    """Load the demo data if it is not there yet, with the files of its documents."""
    async with connected(url) as database, database.unit_of_work() as session:
        loaded = await demo.load_demo(
            session,
            lambda password: hash_password(password, settings.password_profile),
            SecretBox.from_settings(settings).encrypt,
        )
        if loaded:
            async with documents.storage_opened(settings) as storage:
                for key, content in await demo.demo_files(session):
                    await storage.put(key, content)
        return loaded


def print_logins(base_url: str) -> None:
    """The demo logins, one per line and never cut (portal IDs are long)."""
    console.rule("Demo logins")
    for login in demo.LOGINS:
        portal = ""
        if login.portal:
            portal_id = relay.to_base64("Portal", demo.demo_id(f"portal:{login.portal}"))
            portal = f"  portalId [cyan]{portal_id}[/cyan]"
        console.print(
            f"[bold]{login.role:<9}[/bold] {login.email}  [green]{login.password}[/green]{portal}",
            soft_wrap=True,
        )
    console.rule()
    console.print(f"GraphQL: [bold]{base_url}/graphql[/bold]", soft_wrap=True)


def _exit_on_sigterm() -> None:
    """SIGTERM ends the process like Ctrl-C: through `finally`, so the embedded
    PostgreSQL is stopped. (uvicorn shuts down on SIGTERM, then raises it again.)"""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _fresh_metrics_dir() -> None:
    """PROMETHEUS_MULTIPROC_DIR, if set, emptied before the workers start: the files of
    an earlier run's processes would be added to this run's figures (gql/metrics.py)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


class AsgiServer(enum.StrEnum):
    GRANIAN = "granian"
    UVICORN = "uvicorn"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    database_url_option: DatabaseUrl = None,
    data_dir: DataDir = Path(".data"),
    demo_data: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Load the demo data on first start.")
    ] = True,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Deliver the email outbox in-process.")
    ] = True,
    mail_sink: Annotated[
        bool,
        typer.Option(
            "--mail-sink/--no-mail-sink",
            help="Development: receive all mail on SMTP_HOST:SMTP_PORT, list it at /dev/mails.",
        ),
    ] = True,
    server: Annotated[
        AsgiServer, typer.Option(help="ASGI server (granian held p99 better under load).")
    ] = AsgiServer.GRANIAN,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes sharing the port (one per core).")
    ] = 1,
) -> None:
    """Start the server (and an embedded PostgreSQL unless a database URL is given)."""
    _restart_for_hashing()
    settings = Settings.from_env(data_dir=data_dir)
    sink = None
    if mail_sink and settings.development:
        from gql.dev_mail import MAILBOX, start_sink

        try:
            sink, _ = start_sink(
                settings.smtp_host, settings.smtp_port, settings.data_dir / MAILBOX
            )
        except (OSError, RuntimeError) as error:  # e.g. the port is taken
            console.print(f"[yellow]No mail sink on port {settings.smtp_port}: {error}[/yellow]")
        else:
            console.print(
                f"[dim]Mail sink on {settings.smtp_host}:{settings.smtp_port};"
                f" mails at http://{host}:{port}/dev/mails[/dim]",
                soft_wrap=True,
            )
    _exit_on_sigterm()
    with database_url(database_url_option or settings.database_url, data_dir) as url:
        settings = replace(settings, database_url=url)
        with console.status("Migrating..."):
            migrate.upgrade(url)
        if demo_data and asyncio.run(_load_demo(url, settings)):
            console.print("[green]Demo data loaded.[/green]")
        _fresh_metrics_dir()
        # Development keys are generated into the data directory now, before the
        # workers start and would race to create them.
        TokenService.from_settings(settings)
        secret_keys(settings)
        # Each worker builds the app from the environment (gql.app.app_from_environment).
        os.environ.update(
            DATABASE_URL=url,
            PORTAL_DATA_DIR=str(data_dir),
            PORTAL_MAIL_WORKER="1" if worker else "0",
            PORTAL_DEV_MAILS="1" if sink is not None else "0",
        )
        if demo_data:
            # The page at /portal/ on 127.0.0.1 shows the demo customer portal.
            os.environ.setdefault("PORTAL_LOCAL_DOMAIN", demo.CUSTOMER_PORTAL_DOMAIN)
        print_logins(f"http://{host}:{port}")
        target = "gql.app:app_from_environment"
        if server is AsgiServer.UVICORN:
            # The app decides the client address itself (TRUSTED_PROXIES); uvicorn would
            # otherwise rewrite it from X-Forwarded-For of any peer on 127.0.0.1.
            uvicorn.run(
                target, factory=True, host=host, port=port, workers=workers, proxy_headers=False
            )
        else:
            from granian import Granian
            from granian.constants import Interfaces

            Granian(
                target,
                factory=True,
                address=host,
                port=port,
                interface=Interfaces.ASGI,
                workers=workers,
                # A worker that dies (a crash in native code) is started again rather
                # than taking the server down with it.
                respawn_failed_workers=True,
            ).serve()


def _restart_for_hashing() -> None:
    """Start this command again, at once and as the same process, with the environment
    its password checks are cheapest in (`passwords.environment_for_hashing`: glibc reads
    it only when a process starts; the workers granian forks inherit it)."""
    environment = environment_for_hashing(os.environ)
    if environment is not None and sys.platform == "linux":
        os.execve(sys.executable, sys.orig_argv, environment)  # noqa: S606  # nosec B606


@app.command("worker")
def worker_command(
    database_url_option: DatabaseUrl = None, data_dir: DataDir = Path(".data")
) -> None:
    """Answer queued account requests and deliver the email outbox until stopped (run
    as many as you like in parallel)."""
    from gql import collector, delivery
    from gql.domain import registration

    settings = Settings.from_env(data_dir=data_dir)
    _exit_on_sigterm()

    async def run(url: str) -> None:
        # Mails are rendered in threads: collections stay on the loop (gql/collector.py).
        with collector.on_loop():
            async with connected(url) as database:
                await delivery.run_worker(
                    database.sessions,
                    delivery.SmtpTransport.from_settings(settings),
                    delivery.RetryPolicy.from_settings(settings),
                    asyncio.Event(),
                    prepare=registration.answering(
                        database.sessions, registration.AccessConfig.from_settings(settings)
                    ),
                )

    with database_url(database_url_option or settings.database_url, data_dir) as url:
        console.print(f"Delivering mail to {settings.smtp_host}:{settings.smtp_port}")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(url))


@app.command("invite-contacts")
def invite_contacts_command(
    portal: Annotated[str, typer.Argument(help="The portal: its domain, ID or UUID.")],
    active_contract_only: Annotated[
        bool, typer.Option(help="Only contacts with an active contract.")
    ] = False,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Contacts per transaction.")] = 500,
    database_url_option: DatabaseUrl = None,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Invite every contact that has no access to the portal yet (idempotent: run it
    again after an interruption; nobody is invited twice)."""
    settings = Settings.from_env(data_dir=data_dir)
    with database_url(database_url_option or settings.database_url, data_dir) as url:
        total = asyncio.run(_invite_contacts(url, settings, portal, batch, active_contract_only))
    console.print(
        f"[green]{total.invited} invited[/green], {total.skipped} skipped (email already in use)."
        " The mails go out through the outbox."
    )


async def _invite_contacts(
    url: str, settings: Settings, reference: str, batch: int, active_only: bool
) -> Any:
    from gql.domain import portal_access
    from gql.domain.registration import AccessConfig

    async with connected(url) as database:
        async with database.sessions() as db:
            portal, system = await _system_actor(db, reference)
        with Progress(console=console) as progress:
            task = progress.add_task(f"Inviting to {portal.name}", total=None)

            def report(done: portal_access.BulkInvitation, remaining: int) -> None:
                progress.update(task, completed=done.invited, total=done.invited + remaining)

            return await portal_access.invite_in_batches(
                database.sessions,
                system,
                AccessConfig.from_settings(settings),
                portal_id=portal.id,
                batch=batch,
                active_contract_only=active_only,
                on_batch=report,
                now=lambda: datetime.now(UTC),
            )


def _portal_filter(reference: str) -> Any:
    """A portal by domain, global ID or UUID."""
    candidates = [models.Portal.domain == reference.strip().lower()]
    with contextlib.suppress(ValueError):
        candidates.append(models.Portal.id == uuid.UUID(reference))
    with contextlib.suppress(Exception):
        type_name, node_id = relay.from_base64(reference)
        if type_name == "Portal":
            candidates.append(models.Portal.id == uuid.UUID(node_id))
    return sa.or_(*candidates)


users_app = typer.Typer(help="Export and import a portal's users (CSV).", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("export")
def users_export_command(
    portal: Annotated[str, typer.Option(help="The portal: its domain, ID or UUID.")],
    output: Annotated[
        Path | None, typer.Option(help="File to write; standard output without it.")
    ] = None,
    format: Annotated[str, typer.Option(help="Only csv.")] = "csv",
    database_url_option: DatabaseUrl = None,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Write a portal's users as CSV (cells a spreadsheet would run are neutralised)."""
    if format != "csv":
        raise typer.BadParameter("only csv", param_hint="--format")
    settings = Settings.from_env(data_dir=data_dir)
    with database_url(database_url_option or settings.database_url, data_dir) as url:
        text = asyncio.run(_users_export(url, portal))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"[green]{text.count(chr(10)) - 1} portal users written to {output}[/green]")


@users_app.command("import")
def users_import_command(
    file: Annotated[
        Path, typer.Argument(help="CSV with email, language, customer_number, permission_group.")
    ],
    portal: Annotated[str, typer.Option(help="The portal: its domain, ID or UUID.")],
    database_url_option: DatabaseUrl = None,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Create or update a portal's users from CSV: all rows or none, idempotent."""
    from gql.domain.user_csv import ImportRefused

    settings = Settings.from_env(data_dir=data_dir)
    text = file.read_text(encoding="utf-8")
    with database_url(database_url_option or settings.database_url, data_dir) as url:
        try:
            report = asyncio.run(_users_import(url, portal, text))
        except ImportRefused as refused:
            console.print(f"[red]{refused.message}[/red]")
            for error in refused.errors:
                console.print(f"line {error.line}, {error.column}: {error.message}", soft_wrap=True)
            raise typer.Exit(1) from refused
    console.print(
        f"[green]{report.created} created[/green], {report.updated} updated,"
        f" {report.unchanged} unchanged."
    )


async def _system_actor(db: Any, reference: str) -> Any:
    from gql.auth.actor import Actor, Role

    portal = await db.scalar(sa.select(models.Portal).where(_portal_filter(reference)))
    if portal is None:
        raise typer.BadParameter(f"no portal {reference!r}", param_hint="PORTAL")
    return portal, Actor(Role.ADMIN, portal.organization_id)


async def _users_export(url: str, reference: str) -> str:
    from gql.domain import user_csv

    async with connected(url, pool_size=1) as database, database.sessions() as db:
        portal, system = await _system_actor(db, reference)
        return await user_csv.export(db, system, portal.id)


async def _users_import(url: str, reference: str, text: str) -> Any:
    from gql.domain import audit, user_csv

    async with connected(url, pool_size=1) as database, database.unit_of_work() as db:
        portal, system = await _system_actor(db, reference)
        with Progress(console=console) as bar:
            task = bar.add_task(f"Importing into {portal.name}", total=None)
            return await user_csv.import_users(
                db,
                system,
                portal.id,
                text,
                origin=audit.Origin(),
                now=datetime.now(UTC),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )


@app.command("migrate")
def migrate_command(
    database_url_option: DatabaseUrl = None, data_dir: DataDir = Path(".data")
) -> None:
    """Upgrade the database to the newest schema."""
    with database_url(database_url_option, data_dir) as url:
        migrate.upgrade(url)
    console.print("[green]Database is up to date.[/green]")


@app.command("demo")
def demo_command(
    database_url_option: DatabaseUrl = None, data_dir: DataDir = Path(".data")
) -> None:
    """Load the demo data into an existing, migrated database."""
    settings = Settings.from_env(data_dir=data_dir)
    with database_url(database_url_option, data_dir) as url:
        loaded = asyncio.run(_load_demo(url, settings))
    console.print("[green]Demo data loaded.[/green]" if loaded else "Demo data already there.")


documents_app = typer.Typer(help="Document files (DOCUMENTS_URL).", no_args_is_help=True)
app.add_typer(documents_app, name="documents")


@documents_app.command("reconcile")
def documents_reconcile_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only report; remove nothing.")
    ] = False,
    database_url_option: DatabaseUrl = None,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Remove stored files that no document refers to (left by a crash between the
    database and the storage) and report documents whose file is missing (exit code 1).
    Safe to run at any time, also while the API serves; files younger than
    DOCUMENTS_ORPHAN_GRACE_SECONDS are kept (an upload may still commit)."""
    from datetime import timedelta

    settings = Settings.from_env(data_dir=data_dir)

    async def run(url: str) -> documents.Reconciled:
        async with (
            connected(url, pool_size=1) as database,
            database.sessions() as db,
            documents.storage_opened(settings) as storage,
        ):
            return await documents.reconcile(
                db,
                storage,
                now=datetime.now(UTC),
                grace=timedelta(seconds=settings.documents_orphan_grace_seconds),
                remove=not dry_run,
            )

    with database_url(database_url_option or settings.database_url, data_dir) as url:
        found = asyncio.run(run(url))
    verb = "would be removed" if dry_run else "removed"
    console.print(
        f"{found.files} files, {found.rows} documents: {len(found.orphans)} orphaned files"
        f" {verb}, {len(found.recent)} recent ones kept, {len(found.missing)} files missing.",
        soft_wrap=True,
    )
    for key in found.orphans:
        console.print(f"orphan  {key}", soft_wrap=True, highlight=False)
    for document_id, key in found.missing:
        console.print(f"missing {key} (document {document_id})", soft_wrap=True, highlight=False)
    if found.missing:
        raise typer.Exit(1)


@app.command("schema")
def schema_command() -> None:
    """Print the GraphQL SDL (what schema.graphql must contain)."""
    from gql.schema import schema

    typer.echo(str(schema))


if __name__ == "__main__":
    app()
