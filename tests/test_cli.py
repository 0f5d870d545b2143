"""The ``threadline`` command on SQLite and PostgreSQL: real database files, no mocks.

Most commands run in-process through click's ``CliRunner``; the console script and ``serve`` run
as real processes. Every test works in a fresh project, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result

from tests.conftest import free_port
from threadline._version import __version__
from threadline.cli import display_url, main
from threadline.client import types as t
from threadline.core.service import Service
from threadline.storage import projects, transfer
from threadline.storage.database import Database
from threadline.storage.migrate import head_revision

T = TypeVar("T")


# --- helpers -------------------------------------------------------------------------------------


def cli(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def ok(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    result = cli(*args, input=input, env=env)
    assert result.exit_code == 0, result.output
    return result


def on_db(url: str, fn: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``fn`` on a freshly opened database (tests here are sync: the CLI runs its own loop)."""

    async def run() -> T:
        db = Database.create(url)
        try:
            return await fn(db)
        finally:
            await db.close()

    return asyncio.run(run())


def new_project(url: str) -> dict[str, Any]:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    ok("projects", "create", name, "--database", url)

    async def get(db: Database) -> dict[str, Any]:
        return await db.read(projects.get_project, name)

    return on_db(url, get)


def readme_start_banner() -> list[str]:
    """The README's sample of what a first ``threadline serve`` prints, one pattern per line
    (its version, URL, database path and key stand for any)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    sample = readme.split("runs the migrations and prints", 1)[1].split("```", 2)[1]
    patterns = []
    for line in sample.strip().splitlines():
        pattern = re.escape(line)
        for example in (
            "0.1.0",
            "http://127.0.0.1:8787",
            "sqlite:////home/you/.threadline/threadline.db",
            "tl_...",
        ):
            pattern = pattern.replace(re.escape(example), r"\S+")
        patterns.append(pattern)
    return patterns


def lines(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def export(url: str, project: str, *extra: str) -> list[dict[str, Any]]:
    return lines(ok("export", "--project", project, "--database", url, *extra).stdout_bytes)


GENERATION = {
    "type": "chat",
    "model": "gpt-4o",
    "provider": "openai",
    "settings": {"temperature": 0.2, "max_tokens": 256},
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    "message_completion": {"role": "assistant", "content": "hello"},
    "input_token_count": 3,
    "output_token_count": 5,
    "token_count": 8,
    "duration": 0.42,
}


def populate(url: str, project_id: str) -> None:
    """Threads covering every column: participants, nested metadata, generations, orphans."""

    async def run(db: Database) -> None:
        svc = Service(db)
        await svc.create_thread(
            project_id,
            t.ThreadCreate.model_validate(
                {
                    "id": "thread-a",
                    "name": "Support ✓ 日本",
                    "metadata": {"user": "u1", "plan": {"tier": "pro"}, "n": [1, 2.5, None]},
                    "tags": ["support", "vip"],
                    "participant_identifier": "alice@example.com",
                    "environment": "prod",
                }
            ),
        )
        await svc.create_thread(
            project_id, t.ThreadCreate.model_validate({"id": "thread/b", "status": "busy"})
        )
        await svc.ingest_steps(
            project_id,
            t.StepBatch.model_validate(
                {
                    "steps": [
                        {
                            "id": "s-run",
                            "thread_id": "thread-a",
                            "type": "run",
                            "name": "agent",
                            "input": {"q": "hi"},
                            "output": {"a": "hello"},
                            "start_time": "2025-01-01T00:00:00.123456Z",
                            "end_time": "2025-01-01T00:00:02Z",
                        },
                        {
                            "id": "s-llm",
                            "thread_id": "thread-a",
                            "parent_id": "s-run",
                            "root_run_id": "s-run",
                            "type": "llm",
                            "name": "gpt-4o",
                            "metadata": {"k": "v"},
                            "tags": ["x"],
                            "start_time": "2025-01-01T00:00:01Z",
                            "environment": "prod",
                            "generation": GENERATION,
                        },
                        {
                            "id": "s-user",
                            "thread_id": "thread-a",
                            "type": "user_message",
                            "output": {"content": "héllo"},
                            "error": "none really",
                        },
                        {"id": "orphan", "thread_id": "thread/b", "parent_id": "missing"},
                        {"id": "auto", "thread_id": "thread-auto", "type": "tool", "input": [1]},
                    ]
                }
            ),
        )

    on_db(url, run)


def get_thread(url: str, project_id: str, thread_id: str) -> dict[str, Any]:
    async def run(db: Database) -> dict[str, Any]:
        return await Service(db).get_thread(project_id, thread_id)

    return on_db(url, run)


def thread_line(thread_id: str, **fields: Any) -> bytes:
    record = {
        "id": thread_id,
        "metadata": {},
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "steps": [],
        **fields,
    }
    return orjson.dumps(record) + b"\n"


# --- version, help, console script ---------------------------------------------------------------


def test_console_script_runs_version_and_help() -> None:
    script = Path(sys.executable).with_name("threadline")
    assert script.exists(), "the console script is installed with the package"
    run = subprocess.run([script, "version"], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == f"threadline {__version__}"
    run = subprocess.run([script, "serve", "--help"], capture_output=True, text=True, check=True)
    for option in ("--host", "--port", "--database", "--data-dir", "--workers", "--log-level"):
        assert option in run.stdout


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["migrate"],
        ["version"],
        ["projects"],
        ["projects", "create"],
        ["projects", "list"],
        ["keys"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["export"],
        ["import"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = ok(*command, "--help")
    assert result.stdout.startswith("Usage: ")
    summary = result.stdout.split("\n\n")[1].strip()
    assert len(summary) > 10, "a one-line description follows the usage line"


def test_database_url_is_shown_without_password() -> None:
    shown = display_url("postgresql://user:s3cret@db.example:5432/threadline")
    assert "s3cret" not in shown and "user" in shown and "db.example" in shown


# --- migrate, projects, keys ---------------------------------------------------------------------


def test_migrate_prints_head_revision(database_url: str) -> None:
    head = head_revision()
    assert head
    result = ok("migrate", "--database", database_url)
    assert f"revision {head} (head)" in result.stdout


def test_migrate_fresh_database_and_settings_precedence(tmp_path: Path) -> None:
    env_dir, flag_dir = tmp_path / "from-env", tmp_path / "from-flag"
    env = {"THREADLINE_DATA_DIR": str(env_dir), "THREADLINE_DATABASE_URL": ""}
    result = ok("migrate", env=env)
    assert "Migrated from an empty database" in result.stdout
    assert (env_dir / "threadline.db").exists()
    ok("migrate", "--data-dir", str(flag_dir), env=env)
    assert (flag_dir / "threadline.db").exists(), "the flag wins over the environment"
    database = tmp_path / "explicit.db"
    env["THREADLINE_DATABASE_URL"] = f"sqlite:///{database}"
    assert "Already at" not in ok("migrate", env=env).stdout
    assert database.exists(), "a database URL wins over the data dir"

    bad = cli("migrate", env={**env, "THREADLINE_WORKERS": "0"})
    assert bad.exit_code == 2 and "THREADLINE_WORKERS" in bad.stderr


def test_projects_create_and_list(database_url: str) -> None:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    created = ok("projects", "create", name, "--database", database_url)
    assert repr(name) in created.stdout
    listed = ok("projects", "list", "--database", database_url).stdout.splitlines()
    assert listed[0].split() == ["ID", "NAME", "CREATED"]
    row = next(line for line in listed if f" {name} " in line)
    assert len(row.split()) == 4  # id, name, date, time

    again = cli("projects", "create", name, "--database", database_url)
    assert again.exit_code == 1 and "exists" in again.stderr


def test_keys_create_list_revoke(database_url: str) -> None:
    project = new_project(database_url)
    created = ok(
        "keys", "create", "--project", project["name"], "--name", "ci", "--database", database_url
    )
    secret = created.stdout.strip()
    assert secret.startswith("tl_") and "\n" not in secret, "the key alone is on stdout"
    assert "not be shown again" in created.stderr

    async def authenticate(db: Database) -> dict[str, Any] | None:
        return await db.read(projects.authenticate, secret)

    key = on_db(database_url, authenticate)
    assert key is not None and key["project_id"] == project["id"]

    listed = ok("keys", "list", "--project", project["id"], "--database", database_url)
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:4] == ["ID", "PREFIX", "PROJECT", "NAME"]
    assert len(rows) == 1
    assert rows[0].split()[:4] == [key["id"], secret[:10], project["name"], "ci"]
    assert rows[0].split()[-2:] == ["-", "-"], "never used, not revoked"
    assert secret not in listed.stdout

    revoked = ok("keys", "revoke", secret[:10], "--database", database_url)
    assert key["id"] in revoked.stdout
    assert on_db(database_url, authenticate) is None, "a revoked key no longer authenticates"
    after = ok("keys", "list", "--project", project["name"], "--database", database_url)
    assert after.stdout.splitlines()[1].split()[-1] != "-", "the revocation time is shown"

    missing = cli("keys", "revoke", "no-such-key", "--database", database_url)
    assert missing.exit_code == 1 and "not found" in missing.stderr
    unknown = cli("keys", "list", "--project", "no-such-project", "--database", database_url)
    assert unknown.exit_code == 1 and "threadline projects create" in unknown.stderr


def test_keys_create_makes_the_default_project_in_a_fresh_database(tmp_path: Path) -> None:
    result = ok("keys", "create", "--data-dir", str(tmp_path))
    assert "project 'default'" in result.stderr
    listed = ok("projects", "list", "--data-dir", str(tmp_path)).stdout
    assert " default " in listed


# --- export and import ---------------------------------------------------------------------------


def test_export_import_round_trip(database_url: str, tmp_path: Path) -> None:
    source = new_project(database_url)
    populate(database_url, source["id"])
    dump = tmp_path / "threads.jsonl"
    result = ok("export", "--project", source["name"], "-o", str(dump), "--database", database_url)
    assert "Exported 3 threads (5 steps)" in result.stderr
    exported = lines(dump.read_bytes())
    assert [th["id"] for th in exported] == ["thread-a", "thread/b", "thread-auto"]

    a = exported[0]
    original = get_thread(database_url, source["id"], "thread-a")
    as_stored = orjson.loads(transfer.dump_line(original))
    # scores and attachments are entities of their own, not part of a thread's export line
    for key in ("scores", "attachments"):
        as_stored.pop(key, None)
    for step in as_stored["steps"]:
        for key in ("scores", "attachments"):
            step.pop(key, None)
    participant = a.pop("participant")
    assert a == {k: v for k, v in as_stored.items() if k != "participant"}
    assert participant.items() >= as_stored["participant"].items()
    assert participant["identifier"] == "alice@example.com"
    assert participant["id"] == a["participant_id"]
    assert [s["id"] for s in a["steps"]] == ["s-run", "s-llm", "s-user"]
    exported[0]["participant"] = participant
    llm = next(s for s in a["steps"] if s["id"] == "s-llm")
    assert llm["generation"] == GENERATION
    assert llm["parent_id"] == "s-run" and llm["root_run_id"] == "s-run"
    assert set(llm) >= {"created_at", "start_time", "end_time", "error", "environment", "input"}

    # Into a fresh project of the same database.
    target = new_project(database_url)
    imported = ok("import", str(dump), "--project", target["id"], "--database", database_url)
    assert "3 created, 0 updated, 0 unchanged; 5 steps written" in imported.stdout
    assert export(database_url, target["name"]) == exported
    copy = get_thread(database_url, target["id"], "thread-a")
    assert copy == original, "ids, timestamps, metadata, participant and steps are preserved"

    # Into a fresh SQLite database, through stdin and stdout.
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    ok("import", "-", "--database", fresh, input=dump.read_bytes())
    assert export(fresh, "default") == exported


def test_import_twice_changes_nothing(database_url: str, tmp_path: Path) -> None:
    source = new_project(database_url)
    populate(database_url, source["id"])
    dump = tmp_path / "threads.jsonl"
    ok("export", "--project", source["id"], "-o", str(dump), "--database", database_url)

    target = new_project(database_url)
    ok("import", str(dump), "--project", target["name"], "--database", database_url)
    first = export(database_url, target["name"])
    again = ok("import", str(dump), "--project", target["name"], "--database", database_url)
    assert (
        "Imported 3 threads into project "
        f"{target['name']!r}: 0 created, 0 updated, 3 unchanged; 0 steps written, 0 removed; "
        "0 participants created." in again.stdout
    )
    assert export(database_url, target["name"]) == first

    # Importing back into the source project changes nothing there either.
    before = export(database_url, source["name"])
    ok("import", str(dump), "--project", source["name"], "--database", database_url)
    assert export(database_url, source["name"]) == before


def test_import_replaces_changed_threads_with_the_files_content(
    database_url: str, tmp_path: Path
) -> None:
    project = new_project(database_url)
    populate(database_url, project["id"])
    dump = tmp_path / "threads.jsonl"
    ok("export", "--project", project["name"], "-o", str(dump), "--database", database_url)
    original = export(database_url, project["name"])

    async def diverge(db: Database) -> None:
        svc = Service(db)
        await svc.update_thread(
            project["id"],
            "thread-a",
            t.ThreadUpdate(name="renamed", metadata={"plan": {"tier": "free"}}),
        )
        await svc.delete_step(project["id"], "s-user")
        await svc.ingest_steps(
            project["id"],
            t.StepBatch.model_validate({"steps": [{"id": "extra", "thread_id": "thread-a"}]}),
        )

    on_db(database_url, diverge)
    result = ok("import", str(dump), "--project", project["name"], "--database", database_url)
    assert "0 created, 1 updated, 2 unchanged; 1 steps written, 1 removed" in result.stdout
    assert export(database_url, project["name"]) == original

    async def search(db: Database, metadata: dict[str, Any]) -> list[str]:
        page = await Service(db).search_threads(project["id"], t.ThreadSearch(metadata=metadata))
        return [th["id"] for th in page["data"]]

    assert on_db(database_url, lambda db: search(db, {"plan": {"tier": "pro"}})) == ["thread-a"]
    assert on_db(database_url, lambda db: search(db, {"plan": {"tier": "free"}})) == []


def test_malformed_line_names_it_and_leaves_no_partial_batch(
    database_url: str, tmp_path: Path
) -> None:
    project = new_project(database_url)
    good = [thread_line(f"t{i}", steps=[{"id": f"s{i}", "type": "run"}]) for i in range(1, 6)]
    dump = tmp_path / "bad.jsonl"
    dump.write_bytes(b"".join(good) + b'{"id": "t6", "steps": [}\n' + thread_line("t7"))
    result = cli(
        "import",
        str(dump),
        "--project",
        project["name"],
        "--batch-size",
        "4",
        "--database",
        database_url,
    )
    assert result.exit_code == 1
    assert "line 6: malformed JSON" in result.stderr
    assert "nothing from line 5 on was written" in result.stderr
    ids = [th["id"] for th in export(database_url, project["name"])]
    assert ids == ["t1", "t2", "t3", "t4"], "the batch of lines 1-4 committed, line 5 did not"

    dump.write_bytes(thread_line("u1") + b'{"name": "no id"}\n')
    result = cli("import", str(dump), "--project", project["name"], "--database", database_url)
    assert result.exit_code == 1
    assert "line 2: 'id' is missing" in result.stderr and "Nothing was imported" in result.stderr


def test_failed_batch_is_rolled_back(database_url: str, tmp_path: Path) -> None:
    """An error found while writing undoes the whole batch (here: a participant it created)."""
    project = new_project(database_url)
    dump = tmp_path / "bad.jsonl"
    dump.write_bytes(
        thread_line("ok", participant={"id": "p-bob", "identifier": "bob"})
        + thread_line("ghost", participant_id="no-such-participant")
    )
    result = cli("import", str(dump), "--project", project["name"], "--database", database_url)
    assert result.exit_code == 1
    assert "line 2: participant 'no-such-participant' does not exist" in result.stderr
    assert export(database_url, project["name"]) == []

    async def participants(db: Database) -> int:
        page = await Service(db).search_participants(project["id"], t.ParticipantSearch())
        return int(page["total_count"])

    assert on_db(database_url, participants) == 0


def test_import_validates_fields(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    cases = {
        b"[1, 2]\n": "line 1: expected a JSON object",
        thread_line("x", tags="a"): "line 1 (thread 'x'): 'tags' must be a list of strings",
        thread_line("x", steps=[{"type": "run"}]): "step 1: 'id' is missing",
        thread_line("x", steps=[{"id": "s", "thread_id": "y"}]): "is not the thread 'x'",
        thread_line("x", steps=[{"id": "s"}, {"id": "s"}]): "step 's' is listed twice",
        thread_line("x", created_at="yesterday"): "'created_at' is not a timestamp",
        thread_line("x", steps=[{"id": "s", "generation": "gpt"}]): "'generation' must be an obj",
    }
    for line, message in cases.items():
        result = cli("import", "-", "--database", url, input=line)
        assert result.exit_code == 1 and message in result.stderr, (line, result.stderr)


def test_later_lines_win_and_missing_timestamps_stay_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    data = (
        thread_line("x", name="first", steps=[{"id": "s1"}, {"id": "s2"}])
        + b'{"id": "bare", "steps": [{"id": "b1"}]}\n'
        + thread_line("x", name="second", steps=[{"id": "s1", "type": "llm"}])
    )
    ok("import", "-", "--database", url, input=data)
    first = export(url, "default")
    assert [(th["id"], th["name"]) for th in first] == [("x", "second"), ("bare", None)]
    assert [(s["id"], s["type"]) for s in first[0]["steps"]] == [("s1", "llm")]
    again = ok("import", "-", "--database", url, input=data)
    # x goes through line 1 and back to line 3 (two updates); the final state is the same.
    assert "0 created, 2 updated, 1 unchanged" in again.stdout
    assert export(url, "default") == first


def test_export_since_and_pages(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = new_project(database_url)
    data = b"".join(
        thread_line(
            f"t{i:02d}",
            created_at=f"2024-0{1 + i // 4}-01T00:00:00Z",  # four threads share each created_at
            updated_at=f"2024-0{1 + i // 4}-15T00:00:00Z",
        )
        for i in reversed(range(10))
    )
    ok("import", "-", "--project", project["name"], "--database", database_url, input=data)
    monkeypatch.setattr(transfer, "PAGE_SIZE", 3)
    everything = export(database_url, project["name"])
    assert [th["id"] for th in everything] == [f"t{i:02d}" for i in range(10)]

    since = export(database_url, project["name"], "--since", "2024-02-15")
    assert [th["id"] for th in since] == [f"t{i:02d}" for i in range(4, 10)], "at or after"
    later = export(database_url, project["name"], "--since", "2024-02-15T00:00:01+00:00")
    assert [th["id"] for th in later] == ["t08", "t09"]
    bad = cli("export", "--since", "last week", "--database", database_url)
    assert bad.exit_code == 2 and "--since" in bad.stderr


def test_sqlite_to_postgres(database_urls: dict[str, str | None], tmp_path: Path) -> None:
    postgres = database_urls["postgres"]
    if postgres is None:
        pytest.skip("THREADLINE_TEST_POSTGRES_URL is not set")
    sqlite = f"sqlite:///{tmp_path / 'source.db'}"
    source = new_project(sqlite)
    populate(sqlite, source["id"])
    dump = ok("export", "--project", source["name"], "--database", sqlite).stdout_bytes
    target = new_project(postgres)
    ok("import", "-", "--project", target["name"], "--database", postgres, input=dump)
    assert export(postgres, target["name"]) == lines(dump)


# --- serve ---------------------------------------------------------------------------------------


def serve(args: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "threadline", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(log.read_text())


@pytest.fixture
def stopper() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_first_start_prints_admin_key_once(
    tmp_path: Path, stopper: list[subprocess.Popen[bytes]]
) -> None:
    env = {"THREADLINE_BOOTSTRAP_API_KEY": "", "THREADLINE_DATABASE_URL": ""}
    args = ["--data-dir", str(tmp_path), "--log-level", "warning"]
    process, url = serve(args, env, tmp_path / "first.log")
    stopper.append(process)
    output = (tmp_path / "first.log").read_text()
    assert url in output
    assert f"Database: sqlite:///{tmp_path / 'threadline.db'}" in output
    marker = "Admin API key for project 'default' (shown once): "
    assert marker in output
    for pattern in readme_start_banner():
        assert re.search(pattern, output), f"README's start-up sample line {pattern!r} not printed"
    key = output.split(marker)[1].split()[0]
    answer = httpx.get(url + "/v1/threads", headers={"x-api-key": key})
    assert answer.status_code == 200
    assert ok("keys", "list", "--data-dir", str(tmp_path)).stdout.count(key[:10]) == 1


def test_serve_with_bootstrap_key(
    database_url: str, tmp_path: Path, stopper: list[subprocess.Popen[bytes]]
) -> None:
    fresh = tmp_path / "fresh.db"
    url_arg = f"sqlite:///{fresh}" if database_url.startswith("sqlite") else database_url
    bootstrap = "bootstrap-" + uuid.uuid4().hex
    env = {"THREADLINE_BOOTSTRAP_API_KEY": bootstrap, "THREADLINE_DATA_DIR": str(tmp_path)}
    args = ["--database", url_arg, "--log-level", "warning"]
    process, url = serve(args, env, tmp_path / "serve.log")
    stopper.append(process)
    output = (tmp_path / "serve.log").read_text()
    assert "Admin API key" not in output, "the bootstrap key is the caller's own: never printed"
    assert f"Database: {display_url(url_arg)}" in output
    if database_url.startswith("sqlite"):
        answer = httpx.get(url + "/v1/threads", headers={"x-api-key": bootstrap})
        assert answer.status_code == 200


def test_export_import_keeps_tyler_message_fields(database_url: str, tmp_path: Path) -> None:
    """Platforms, sequence/turn/source/metrics and reactions survive a round trip."""
    from threadline.storage import messages, steps, threads

    source, target = new_project(database_url), new_project(database_url)

    def write(conn: Any) -> None:
        threads.insert_row(
            conn, source["id"], {"id": "ty", "platforms": {"slack": {"thread_ts": "1.5"}}}
        )
        steps.upsert_batch(
            conn,
            source["id"],
            [
                {
                    "id": "m1",
                    "thread_id": "ty",
                    "type": "user_message",
                    "sequence": 1,
                    "turn": 1,
                    "source": {"id": "u1", "type": "user"},
                    "metrics": {"timing": {"latency": 5}},
                    "platforms": {"slack": {"ts": "1.6"}},
                },
            ],
        )
        messages.add_reaction(conn, source["id"], "m1", ":+1:", "u2")
        messages.add_reaction(conn, source["id"], "m1", ":eyes:", "u3")

    on_db(database_url, lambda db: db.write(write))
    dump = tmp_path / "tyler.jsonl"
    ok("export", "--project", source["name"], "-o", str(dump), "--database", database_url)
    for _ in range(2):  # twice: the second import changes nothing
        ok("import", str(dump), "--project", target["name"], "--database", database_url)
    original = get_thread(database_url, source["id"], "ty")
    copied = get_thread(database_url, target["id"], "ty")
    assert copied["platforms"] == {"slack": {"thread_ts": "1.5"}}
    keys = ("sequence", "turn", "source", "metrics", "platforms", "reactions")
    assert [{k: s[k] for k in keys} for s in copied["steps"]] == [
        {k: s[k] for k in keys} for s in original["steps"]
    ]
    assert copied["steps"][0]["reactions"] == {":+1:": ["u2"], ":eyes:": ["u3"]}

    def by_platform(conn: Any) -> list[str]:
        return messages.thread_ids_by_platform(
            conn, target["id"], "slack", {"thread_ts": "1.5"}, 10
        )

    assert on_db(database_url, lambda db: db.read(by_platform)) == ["ty"]
