"""The ``threadline`` command: run the server, manage projects and API keys, export and import.

Every command that touches the database takes ``--database`` and ``--data-dir`` and migrates the
schema first. Settings come from the flag, else the ``THREADLINE_*`` environment variable, else
the default (see :mod:`threadline.settings`).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
import stat
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click
import pydantic
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline._version import __version__
from threadline.core import literal_export
from threadline.core.errors import DomainError, InvalidInput, NotFound
from threadline.core.service import Service
from threadline.core.timeutil import parse_timestamp
from threadline.settings import ENV_PREFIX, Settings
from threadline.storage import literal_import, transfer
from threadline.storage import projects as project_store
from threadline.storage.database import Database, normalize_url, redact
from threadline.storage.migrate import current_revision, head_revision

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
IMPORT_BATCH_STEPS = 5000
"""An import batch is committed early once it holds this many steps."""


# --- settings and the database -------------------------------------------------------------------


def load_settings(**overrides: Any) -> Settings:
    """Settings from the given flags (None = not given), then ``THREADLINE_*``, then defaults."""
    try:
        return Settings.load(**overrides)
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            if overrides.get(name) is not None:
                source = "--database" if name == "database_url" else "--" + name.replace("_", "-")
            else:
                source = ENV_PREFIX + name.upper()
            problems.append(f"{source}: {error['msg']}")
        raise click.UsageError("invalid setting " + "; ".join(problems)) from None


def display_url(url: str) -> str:
    """The database URL as shown to people: password hidden."""
    try:
        return redact(url)
    except sa.exc.ArgumentError:
        return redact(normalize_url(url))


def run_with_db(
    settings: Settings, fn: Callable[[Database], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Open the database, migrate it, run ``fn``, close it; errors become CLI errors."""
    url = settings.resolved_database_url

    async def run() -> T:
        db = Database.create(url, readers=settings.db_readers, pool_size=settings.db_pool_size)
        try:
            if migrate:
                await db.run_migrations()
            return await fn(db)
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    except sa.exc.DBAPIError as exc:
        raise click.ClickException(f"database {display_url(url)}: {exc.orig}") from None
    except BrokenPipeError:
        raise
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:
        raise click.ClickException(f"cannot reach the database {display_url(url)}: {exc}") from None


def database_options(fn: F) -> F:
    """``--database`` and ``--data-dir``, shared by every command that opens the database."""
    fn = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help="Folder for the SQLite database (threadline.db). "
        f"Default: ${ENV_PREFIX}DATA_DIR, else ~/.threadline.",
    )(fn)
    return click.option(
        "--database",
        "database_url",
        metavar="URL",
        help="postgresql://user:password@host:5432/dbname for PostgreSQL, or "
        "sqlite:///path/to/file.db. "
        f"Default: ${ENV_PREFIX}DATABASE_URL, else SQLite in the data dir.",
    )(fn)


def find_project(conn: Connection, name_or_id: str) -> dict[str, Any]:
    """The project with this name or id; the ``default`` project is created on first use."""
    try:
        return project_store.get_project(conn, name_or_id)
    except NotFound:
        if name_or_id == project_store.DEFAULT_PROJECT:
            return project_store.ensure_default_project(conn)
        raise NotFound(
            f"project {name_or_id!r} not found; list them with `threadline projects list` or "
            f"create it with `threadline projects create {shlex.quote(name_or_id)}`"
        ) from None


# --- output helpers ------------------------------------------------------------------------------


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for cells in (headers, *rows):
        click.echo("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())


def progress(length: int, label: str) -> ProgressBar[int]:
    """A progress bar on stderr, shown only when stderr is a terminal (and length is known)."""
    hidden = length <= 0 or not sys.stderr.isatty()
    return click.progressbar(
        length=max(length, 1), label=label, file=sys.stderr, hidden=hidden, show_pos=False
    )


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value, field="since")
    except InvalidInput:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 time (e.g. 2025-01-31 or 2025-01-31T12:00:00Z)",
            param_hint="'--since'",
        ) from None


# --- the command group ---------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(
    __version__, "--version", prog_name="threadline", message="%(prog)s %(version)s"
)
def main() -> None:
    """Threadline: a self-hosted thread server for LLM apps.

    \b
    Start a server (SQLite in ~/.threadline, http://127.0.0.1:8787):
        threadline serve
    On PostgreSQL, with four processes:
        threadline serve --database postgresql://user:pw@localhost/threadline --workers 4

    The first start prints an admin API key for the 'default' project. Every setting can also
    come from a THREADLINE_* environment variable (THREADLINE_DATABASE_URL, THREADLINE_PORT, ...);
    a command-line flag wins over the variable. Run `threadline COMMAND --help` for details.
    """


@main.command()
@click.option(
    "--host",
    metavar="HOST",
    help=f"Interface to listen on; 0.0.0.0 for every interface. "
    f"Default: ${ENV_PREFIX}HOST, else 127.0.0.1 (this machine only).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help=f"TCP port. Default: ${ENV_PREFIX}PORT, else 8787.",
)
@database_options
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Server processes. Default: ${ENV_PREFIX}WORKERS, else 1. "
    "Use PostgreSQL for more than one: SQLite serializes writes.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help=f"Server log level. Default: ${ENV_PREFIX}LOG_LEVEL, else info.",
)
def serve(
    host: str | None,
    port: int | None,
    database_url: str | None,
    data_dir: Path | None,
    workers: int | None,
    log_level: str | None,
) -> None:
    """Run the server (the native API at /v1, /health, /openapi.json).

    The database schema is migrated first. On the first start (no API keys yet) an admin key for
    the 'default' project is printed once; store it, and create more with `threadline keys
    create`. For containers and CI, set THREADLINE_BOOTSTRAP_API_KEY to register a key of your
    choice instead.

    \b
    Examples:
        threadline serve
        threadline serve --host 0.0.0.0 --port 9000 --data-dir /var/lib/threadline
        threadline serve --database postgresql://user:pw@db/threadline --workers 4
    """
    import uvicorn

    settings = load_settings(
        host=host,
        port=port,
        database_url=database_url,
        data_dir=data_dir,
        workers=workers,
        log_level=log_level.lower() if log_level else None,
    )
    url = settings.resolved_database_url

    async def bootstrap(db: Database) -> tuple[dict[str, Any], str | None]:
        return await Service(db).bootstrap(settings.bootstrap_api_key)

    project, secret = run_with_db(settings, bootstrap)
    click.echo(f"Threadline {__version__} on http://{settings.host}:{settings.port}")
    click.echo(f"Database: {display_url(url)}")
    if secret is not None and secret != settings.bootstrap_api_key:
        click.echo(f"Admin API key for project {project['name']!r} (shown once): {secret}")
        click.echo("Send it in the x-api-key header. More keys: `threadline keys create`.")
    if settings.workers > 1 and normalize_url(url).startswith("sqlite"):
        click.echo(
            f"Warning: {settings.workers} workers on SQLite: SQLite serializes writes, so more "
            "processes add little; PostgreSQL is recommended for several workers.",
            err=True,
        )
    export_settings(settings)
    uvicorn.run(
        "threadline.api.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def export_settings(settings: Settings) -> None:
    """Put every setting into ``THREADLINE_*`` so that worker processes load the same ones."""
    values = settings.model_dump()
    values["data_dir"] = settings.data_dir.expanduser().resolve()
    for name, value in values.items():
        key = ENV_PREFIX + name.upper()
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)


@main.command()
@database_options
def migrate(database_url: str | None, data_dir: Path | None) -> None:
    """Create or upgrade the database schema.

    Brings the database to the newest schema revision this version knows.
    `threadline serve` does this too at start-up; run it on its own to upgrade ahead of a
    deployment or to check which revision a database is at.
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)

    async def run(db: Database) -> tuple[str | None, str | None]:
        before = await db.read(current_revision)
        await db.run_migrations()
        return before, await db.read(current_revision)

    before, after = run_with_db(settings, run, migrate=False)
    head = " (head)" if after == head_revision() else ""
    click.echo(f"Database: {display_url(settings.resolved_database_url)}")
    if before == after:
        click.echo(f"Already at revision {after}{head}.")
    else:
        click.echo(f"Migrated from {before or 'an empty database'} to revision {after}{head}.")


@main.command()
def version() -> None:
    """Print the Threadline version."""
    click.echo(f"threadline {__version__}")


# --- projects ------------------------------------------------------------------------------------


@main.group()
def projects() -> None:
    """Create and list projects.

    Every thread, step, participant and API key belongs to one project, and a key only ever
    sees its own project's data. The 'default' project is created on the first start.
    """


@projects.command("create")
@click.argument("name")
@database_options
def projects_create(name: str, database_url: str | None, data_dir: Path | None) -> None:
    """Create a project called NAME.

    Then give it an API key: threadline keys create --project NAME
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)

    async def run(db: Database) -> dict[str, Any]:
        return await db.write(project_store.create_project, name)

    project = run_with_db(settings, run)
    click.echo(f"Created project {project['name']!r} (id {project['id']}).")
    click.echo(f"Give it an API key: threadline keys create --project {shlex.quote(name)}")


@projects.command("list")
@database_options
def projects_list(database_url: str | None, data_dir: Path | None) -> None:
    """List projects: id, name and creation time (UTC)."""
    settings = load_settings(database_url=database_url, data_dir=data_dir)

    async def run(db: Database) -> list[dict[str, Any]]:
        return await db.read(project_store.list_projects)

    rows = run_with_db(settings, run)
    if not rows:
        click.echo("No projects yet: `threadline serve` creates 'default'.")
        return
    echo_table(
        ("ID", "NAME", "CREATED"), [(p["id"], p["name"], when(p["created_at"])) for p in rows]
    )


# --- API keys ------------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Create, list and revoke API keys.

    Clients send a key in the x-api-key header (or Authorization: Bearer KEY); it gives access
    to its project's data only. Only a hash of each key is stored: the key itself is shown once,
    when it is created.
    """


@keys.command("create")
@click.option(
    "--project",
    default=project_store.DEFAULT_PROJECT,
    show_default=True,
    metavar="NAME_OR_ID",
    help="The project the key gives access to.",
)
@click.option("--name", metavar="NAME", help="A label to recognise the key by, e.g. 'ci'.")
@database_options
def keys_create(
    project: str, name: str | None, database_url: str | None, data_dir: Path | None
) -> None:
    """Create an API key and print it (once: it cannot be shown again).

    The key alone goes to standard output, so `KEY=$(threadline keys create)` works; the notes
    go to standard error.
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)

    def create(conn: Connection) -> tuple[dict[str, Any], dict[str, Any]]:
        found = find_project(conn, project)
        return found, project_store.create_key(conn, found["id"], name)

    async def run(db: Database) -> tuple[dict[str, Any], dict[str, Any]]:
        return await db.write(create)

    found, key = run_with_db(settings, run)
    click.echo(f"Created API key {key['id']} for project {found['name']!r}:", err=True)
    click.echo(key["key"])
    click.echo("Store it now: it will not be shown again (only a hash of it is kept).", err=True)


@keys.command("list")
@click.option(
    "--project", metavar="NAME_OR_ID", help="Only this project's keys (default: every project)."
)
@database_options
def keys_list(project: str | None, database_url: str | None, data_dir: Path | None) -> None:
    """List API keys (their prefixes: the keys themselves are never stored)."""
    settings = load_settings(database_url=database_url, data_dir=data_dir)

    def read(conn: Connection) -> tuple[dict[str, str], list[dict[str, Any]]]:
        project_id = find_project(conn, project)["id"] if project else None
        names = {p["id"]: p["name"] for p in project_store.list_projects(conn)}
        return names, project_store.list_keys(conn, project_id)

    async def run(db: Database) -> tuple[dict[str, str], list[dict[str, Any]]]:
        return await db.write(read)

    names, rows = run_with_db(settings, run)
    if not rows:
        click.echo("No API keys.")
        return
    echo_table(
        ("ID", "PREFIX", "PROJECT", "NAME", "CREATED", "LAST USED", "REVOKED"),
        [
            (
                k["id"],
                k["prefix"],
                names.get(k["project_id"], k["project_id"]),
                k["name"] or "-",
                when(k["created_at"]),
                when(k["last_used_at"]),
                when(k["revoked_at"]),
            )
            for k in rows
        ],
    )


@keys.command("revoke")
@click.argument("key", metavar="KEY_ID_OR_PREFIX")
@database_options
def keys_revoke(key: str, database_url: str | None, data_dir: Path | None) -> None:
    """Revoke an API key, given its id or its prefix.

    `threadline keys list` shows both.
    Requests with the key are refused from then on; a running server may accept it for up to
    THREADLINE_KEY_CACHE_SECONDS (5 s by default) more.
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)

    def revoke(conn: Connection) -> tuple[dict[str, Any], dict[str, Any]]:
        revoked = project_store.revoke_key(conn, key)
        return revoked, project_store.get_project(conn, revoked["project_id"])

    async def run(db: Database) -> tuple[dict[str, Any], dict[str, Any]]:
        return await db.write(revoke)

    revoked, owner = run_with_db(settings, run)
    click.echo(
        f"Revoked API key {revoked['id']} ({revoked['prefix']}...) of project "
        f"{owner['name']!r} at {when(revoked['revoked_at'])}."
    )


# --- export and import ---------------------------------------------------------------------------


@contextmanager
def open_output(path: str) -> Iterator[IO[bytes]]:
    """Standard output for ``-``; else a file that appears only once it is complete."""
    if path == "-":
        with click.open_file("-", "wb") as stdout:
            yield stdout
            stdout.flush()
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("wb") as file:
            yield file
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@main.command("export")
@click.option(
    "--project",
    default=project_store.DEFAULT_PROJECT,
    show_default=True,
    metavar="NAME_OR_ID",
    help="The project to export.",
)
@click.option(
    "--since",
    metavar="TIME",
    help="Only threads whose updated_at is at or after TIME (ISO 8601: 2025-01-31 or "
    "2025-01-31T12:00:00Z; UTC unless it has an offset). Writing a step updates its thread, "
    "so this selects the threads created or changed since then.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    metavar="FILE",
    help="Where to write. Default: standard output.",
)
@database_options
def export_command(
    project: str,
    since: str | None,
    output: str,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Export threads with all their steps as JSON Lines.

    One thread per line, oldest first, with every field of the thread (its participant's id and
    identifier included) and of its steps, ids and timestamps as stored. `threadline import`
    reads the file back, into this database or another one (SQLite or PostgreSQL).

    \b
    Examples:
        threadline export > threads.jsonl
        threadline export --project support --since 2025-01-01 -o recent.jsonl
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)
    since_at = parse_since(since)

    async def run(db: Database) -> tuple[str, int, int]:
        found = await db.write(find_project, project)
        total = await db.read(transfer.count_threads, found["id"], since_at)
        exported = steps = 0
        cursor: transfer.Cursor | None = None
        with open_output(output) as out, progress(total, "Exporting threads") as bar:
            while True:
                page = await db.read(
                    transfer.export_page, found["id"], since_at, cursor, transfer.PAGE_SIZE
                )
                out.write(b"".join(transfer.dump_line(thread) for thread in page))
                exported += len(page)
                steps += sum(len(thread["steps"]) for thread in page)
                bar.update(len(page))
                if len(page) < transfer.PAGE_SIZE:
                    break
                cursor = transfer.cursor_after(page)
        return found["name"], exported, steps

    try:
        name, exported, steps = run_with_db(settings, run)
    except BrokenPipeError:  # e.g. `threadline export | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    where = "standard output" if output == "-" else output
    click.echo(
        f"Exported {exported} threads ({steps} steps) of project {name!r} to {where}.", err=True
    )


def file_size(file: IO[bytes]) -> int:
    """The size of a regular file (0 when reading a pipe or terminal)."""
    try:
        info = os.fstat(file.fileno())
    except (OSError, ValueError, AttributeError):
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


class ImportFailed(Exception):
    def __init__(self, message: str, first_line: int) -> None:
        super().__init__(message)
        self.message = message
        self.first_line = first_line


class Importer:
    """Commits parsed lines in batches, one transaction each, in file order.

    A batch ends early when a line repeats a thread or step id of the batch, so that the later
    line wins. ``apply`` writes one batch (``transfer.import_batch`` or a variant of it).
    """

    def __init__(
        self,
        db: Database,
        project_id: str,
        batch_size: int,
        totals: transfer.ImportCounts,
        apply: Callable[..., transfer.ImportCounts] = transfer.import_batch,
    ) -> None:
        self.db = db
        self.project_id = project_id
        self.batch_size = batch_size
        self.totals = totals
        self.apply = apply
        self.batch: list[transfer.Record] = []
        self.thread_ids: set[str] = set()
        self.step_ids: set[str] = set()
        self.rows_written = 0
        self.analyzed_at = 0

    @property
    def first_line(self) -> int | None:
        """The first line of the batch being collected (not yet written)."""
        return self.batch[0].line if self.batch else None

    async def add(self, record: transfer.Record) -> None:
        step_ids = {s["id"] for s in record.steps}
        if record.thread["id"] in self.thread_ids or not step_ids.isdisjoint(self.step_ids):
            await self.flush()
        self.batch.append(record)
        self.thread_ids.add(record.thread["id"])
        self.step_ids.update(step_ids)
        if len(self.batch) >= self.batch_size or len(self.step_ids) >= IMPORT_BATCH_STEPS:
            await self.flush()

    async def flush(self) -> None:
        """Write the collected batch in one transaction; raises ImportFailed if it fails."""
        if not self.batch:
            return
        batch = self.batch
        try:
            counts = await self.db.write(self.apply, self.project_id, batch)
        except DomainError as exc:
            message = exc.message
            if not message.startswith("line "):
                message = f"lines {batch[0].line}-{batch[-1].line}: {message}"
            raise ImportFailed(message, batch[0].line) from None
        self.totals.add(counts)
        self.batch, self.thread_ids, self.step_ids = [], set(), set()
        self.rows_written += counts.threads_created + counts.steps_written
        if self.rows_written >= 2 * self.analyzed_at + 1000:
            await self.analyze()

    async def analyze(self) -> None:
        """Refresh PostgreSQL's statistics each time the import has doubled what it wrote."""
        if self.rows_written > self.analyzed_at and self.db.dialect == "postgresql":
            await self.db.write(transfer.analyze)
        self.analyzed_at = self.rows_written


def import_failed(exc: ImportFailed, totals: transfer.ImportCounts) -> click.ClickException:
    """The CLI error for a failed import: what went wrong, what was written, what to do."""
    if totals.threads:
        done = (
            f"The lines before line {exc.first_line} were imported ({totals.threads} "
            f"threads); nothing from line {exc.first_line} on was written."
        )
    else:
        done = "Nothing was imported."
    return click.ClickException(
        f"{exc.message}\n{done} Fix the file and import it again: "
        "importing is idempotent, so threads already imported stay as they are."
    )


def import_options(project_help: str) -> Callable[[F], F]:
    """``--project`` (helped by ``project_help``), ``--batch-size`` and the database options."""

    def decorate(fn: F) -> F:
        fn = database_options(fn)
        fn = click.option(
            "--batch-size",
            type=click.IntRange(1, 10_000),
            default=200,
            show_default=True,
            metavar="N",
            help="Threads committed per transaction.",
        )(fn)
        return click.option(
            "--project",
            default=project_store.DEFAULT_PROJECT,
            show_default=True,
            metavar="NAME_OR_ID",
            help=project_help,
        )(fn)

    return decorate


RecordReader = Callable[[IO[bytes], "ProgressBar[int]"], Iterator[transfer.Record]]
"""Reads a file's records in order, advancing the bar; bad input raises ImportFailed."""


def export_records(file: IO[bytes], bar: ProgressBar[int]) -> Iterator[transfer.Record]:
    """The records of a `threadline export` file (JSON Lines; blank lines are skipped)."""
    for number, raw in enumerate(file, start=1):
        bar.update(len(raw))
        if not raw.strip():
            continue
        try:
            record = transfer.parse_line(raw, number)
        except InvalidInput as exc:
            raise ImportFailed(exc.message, number) from None
        yield record


def literal_records(file: IO[bytes], bar: ProgressBar[int]) -> Iterator[transfer.Record]:
    """The threads of a Literal AI export (see :func:`literal_export.read_export`) as records."""
    threads = literal_export.read_export(file)
    done = 0
    item: literal_export.Found | None = None
    while True:
        try:
            item = next(threads, None)
            if item is None:
                return
            record = literal_import.parse_thread(item.data, item.line)
        except InvalidInput as exc:
            line = getattr(exc, "line", None) or (item.line if item else 1)
            raise ImportFailed(exc.message, line) from None
        bar.update(item.offset - done)
        done = item.offset
        yield record


def run_import(
    settings: Settings,
    file: IO[bytes],
    project: str,
    batch_size: int,
    totals: transfer.ImportCounts,
    label: str,
    read: RecordReader,
    apply: Callable[..., transfer.ImportCounts] = transfer.import_batch,
) -> str:
    """Import ``read``'s records of ``file`` into ``project`` in batches; returns its name.

    Counts go into ``totals``; a failure becomes the CLI error saying what was written.
    """
    size = file_size(file)

    async def run(db: Database) -> str:
        found = await db.write(find_project, project)
        importer = Importer(db, found["id"], batch_size, totals, apply=apply)
        with progress(size, label) as bar:
            records = read(file, bar)
            while True:
                try:
                    record = next(records, None)
                except ImportFailed as exc:
                    raise ImportFailed(exc.message, importer.first_line or exc.first_line) from None
                if record is None:
                    break
                await importer.add(record)
            await importer.flush()
        await importer.analyze()
        return str(found["name"])

    try:
        return run_with_db(settings, run)
    except ImportFailed as exc:
        raise import_failed(exc, totals) from None


@main.command("import")
@click.argument("file", type=click.File("rb"), metavar="FILE")
@import_options("The project to import into (the file may come from any project).")
def import_command(
    file: IO[bytes],
    project: str,
    batch_size: int,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Import threads from a `threadline export` file.

    FILE is the JSON Lines file, or - to read standard input.
    Ids and timestamps are kept. Importing is idempotent: a thread that exists is replaced by
    the file's version (its steps included: steps the file does not list for it are removed),
    and one that already matches is left untouched, so importing the same file twice changes
    nothing. Participants are matched by identifier and created when missing. When a line
    appears twice, the later one wins.

    Lines are committed in batches. A malformed line stops the import with its line number;
    nothing from its batch is written, and the batches before it stay imported (run the import
    again once the line is fixed).

    \b
    Examples:
        threadline import threads.jsonl --project support
        threadline export -o all.jsonl     # then, to move from SQLite to PostgreSQL:
        threadline import all.jsonl --database postgresql://user:pw@db/threadline
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)
    totals = transfer.ImportCounts()
    name = run_import(
        settings, file, project, batch_size, totals, "Importing threads", export_records
    )
    click.echo(
        f"Imported {totals.threads} threads into project {name!r}: "
        f"{totals.threads_created} created, {totals.threads_updated} updated, "
        f"{totals.threads_unchanged} unchanged; {totals.steps_written} steps written, "
        f"{totals.steps_removed} removed; {totals.participants_created} participants created."
    )


@main.command("import-literal")
@click.argument("file", type=click.File("rb"), metavar="FILE")
@import_options("The project to import into.")
def import_literal_command(
    file: IO[bytes],
    project: str,
    batch_size: int,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Import threads exported from Literal AI, with their steps, scores and attachments.

    FILE (or - for standard input) holds what the literalai SDK's get_threads returns: threads
    one per line (JSON Lines) or in a JSON list, pages ({"data": [...], "pageInfo": ...}, e.g.
    page.to_dict()) or GraphQL answers ({"edges": [{"node": ...}]}), one or several.

    Ids and timestamps are kept (threads, steps, scores, attachments); participants are matched
    by identifier and created when missing. Generations stay on their llm steps. Attachments keep
    their objectKey and url, not the bytes (those were in Literal's storage). Importing is
    idempotent: a thread that exists becomes what the file says (steps it does not list are
    removed), scores and attachments are added or updated, never removed, and importing the
    same file twice changes nothing.

    Threads are committed in batches. A malformed one stops the import with its line number;
    nothing from its batch is written, and the batches before it stay imported.

    \b
    Examples:
        threadline import-literal literal-threads.jsonl --project support
        threadline import-literal pages.json --database postgresql://user:pw@db/threadline
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)
    totals = literal_import.LiteralImportCounts()
    name = run_import(
        settings,
        file,
        project,
        batch_size,
        totals,
        "Importing Literal AI threads",
        literal_records,
        apply=literal_import.import_batch,
    )
    click.echo(
        f"Imported {totals.threads} Literal AI threads into project {name!r}: "
        f"{totals.threads_created} created, {totals.threads_updated} updated, "
        f"{totals.threads_unchanged} unchanged; {totals.steps_written} steps written, "
        f"{totals.steps_removed} removed; {totals.scores_written} scores and "
        f"{totals.attachments_written} attachments written; "
        f"{totals.participants_created} participants created."
    )
