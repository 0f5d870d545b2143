"""Attachments and files (``client.attachments``) through the SDK on real servers, on both
databases: the local-folder file store, and the S3 store against a real moto server process."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import (
    PG_ENV,
    Server,
    Tenant,
    _pg_admin,
    free_port,
    new_tenant,
    start_server,
    stop_server,
)
from threadline import Client, NotFoundError, UnprocessableEntityError
from threadline.client import PayloadTooLargeError
from threadline.storage.database import Database

LIMIT = 4096


@dataclass
class FileServer:
    server: Server
    files: Path  # where the local store keeps the bytes


def _lazy(start: Callable[[str], FileServer]) -> Iterator[dict[str, FileServer]]:
    started: dict[str, FileServer] = {}

    class Lazy(dict[str, FileServer]):
        def __missing__(self, backend: str) -> FileServer:
            self[backend] = started[backend] = start(backend)
            return self[backend]

    yield Lazy()
    for running in started.values():
        stop_server(running.server)


@pytest.fixture(scope="module")
def own_database(
    tmp_path_factory: pytest.TempPathFactory, postgres_server_url: str | None
) -> Iterator[Callable[[str, str], str]]:
    """Fresh databases for this module's servers: the processes that share a database must share
    a file store too (any of them sweeps the files of deleted attachments)."""
    created: list[str] = []

    def make(backend: str, label: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp(label) / 'threadline.db'}"
        assert postgres_server_url is not None
        name = f"threadline_test_{label}_{uuid.uuid4().hex[:8]}"
        _pg_admin(os.environ[PG_ENV], f'CREATE DATABASE "{name}"')
        created.append(name)
        return str(
            sa.make_url(postgres_server_url)
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    yield make
    for name in created:
        _pg_admin(os.environ[PG_ENV], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def file_servers(
    tmp_path_factory: pytest.TempPathFactory, own_database: Callable[[str, str], str]
) -> Iterator[dict[str, FileServer]]:
    """A server per backend with a small file limit and a fast file sweeper."""

    def start(backend: str) -> FileServer:
        data_dir = tmp_path_factory.mktemp(f"files-{backend}")
        env = {"THREADLINE_MAX_FILE_BYTES": str(LIMIT), "THREADLINE_FILE_SWEEP_SECONDS": "0.2"}
        url = own_database(backend, "files")
        return FileServer(start_server(url, data_dir, env=env), data_dir / "files")

    yield from _lazy(start)


@pytest.fixture
def files(file_servers: dict[str, FileServer], backend: str) -> FileServer:
    return file_servers[backend]


async def tenant_on(running: FileServer) -> Tenant:
    """A fresh project and key in that server's database."""
    db = Database.create(running.server.database_url)
    try:
        return await new_tenant(db)
    finally:
        await db.close()


@pytest.fixture
async def ftenant(files: FileServer) -> Tenant:
    return await tenant_on(files)


@pytest.fixture
def fclient(files: FileServer, ftenant: Tenant) -> Iterator[Client]:
    with Client(files.server.url, ftenant.api_key) as sdk:
        yield sdk


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _thread_with_step(client: Client, thread_id: str = "t-files") -> str:
    client.threads.create(id=thread_id)
    return client.steps.create(thread_id=thread_id, type="user_message").id


def test_upload_download_and_read_with_thread(
    fclient: Client, files: FileServer, tmp_path: Path
) -> None:
    step_id = _thread_with_step(fclient)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    image = fclient.attachments.create(step_id=step_id, content=png, name="chart.png")
    assert (image.thread_id, image.step_id, image.size, image.mime) == (
        "t-files",
        step_id,
        len(png),
        "image/png",
    )
    assert image.object_key and (files.files / image.object_key).read_bytes() == png
    assert fclient.attachments.download(image.id) == png

    local = tmp_path / "notes.txt"
    local.write_text("from a path")
    note = fclient.attachments.create(thread_id="t-files", path=local, metadata={"k": 1})
    assert (note.name, note.mime, note.step_id) == ("notes.txt", "text/plain", None)
    link = fclient.attachments.create(step_id=step_id, url="https://example.com/a/report.pdf")
    assert (link.name, link.url, link.object_key, link.size) == (
        "report.pdf",
        "https://example.com/a/report.pdf",
        None,
        None,
    )

    # a browser fetches the signed URL without the API key
    assert image.url is not None and image.url.startswith("/v1/files/")
    shown = httpx.get(files.server.url + image.url)
    assert shown.status_code == 200 and shown.content == png
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline")
    assert shown.headers["x-content-type-options"] == "nosniff"

    thread = fclient.threads.get("t-files")
    assert {a.name for a in thread.attachments or []} == {"chart.png", "notes.txt", "report.pdf"}
    step = next(s for s in thread.steps or [] if s.id == step_id)
    on_step = {a.name: a for a in step.attachments or []}
    assert set(on_step) == {"chart.png", "report.pdf"}
    fresh = on_step["chart.png"].url
    assert fresh is not None and httpx.get(files.server.url + fresh).content == png
    assert [a.name for a in fclient.steps.get(step_id).attachments or []] == [
        "chart.png",
        "report.pdf",
    ]
    assert fclient.attachments.list(thread_id="t-files").total_count == 3
    assert {a.name for a in fclient.attachments.list(step_id=step_id)} == {
        "chart.png",
        "report.pdf",
    }

    renamed = fclient.attachments.update(note.id, name="renamed.txt")
    assert renamed.name == "renamed.txt" and renamed.metadata == {"k": 1}


def test_html_is_never_shown_inline(fclient: Client, files: FileServer) -> None:
    _thread_with_step(fclient)
    page = fclient.attachments.create(
        thread_id="t-files", content="<script>alert(1)</script>", name="x.html"
    )
    assert page.url is not None
    served = httpx.get(files.server.url + page.url)
    assert served.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in served.headers["content-security-policy"]


def _resign(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


def test_signed_urls_expire_and_resist_tampering(fclient: Client, files: FileServer) -> None:
    _thread_with_step(fclient)
    made = fclient.attachments.create(thread_id="t-files", content=b"secret bytes", name="s.bin")
    signed = fclient.attachments.url(made.id, expires_in=1)
    base = files.server.url
    assert httpx.get(base + signed.url).content == b"secret bytes"

    sig = parse_qs(urlsplit(signed.url).query)["signature"][0]
    tampered = _resign(signed.url, signature=("A" if sig[0] != "A" else "B") + sig[1:])
    extended = _resign(signed.url, expires=str(int(time.time()) + 10_000))
    non_ascii = _resign(signed.url, signature="µ!" + sig[2:])
    superscript = _resign(signed.url, expires="²")  # a digit to str.isdigit, not to int()
    for url in (tampered, extended, non_ascii, superscript, signed.url.split("?")[0]):
        refused = httpx.get(base + url)
        assert refused.status_code == 403, url
        assert refused.json()["error"]["type"] == "forbidden"
    assert "signature" in httpx.get(base + tampered).json()["error"]["message"]
    # a download link cannot be used to overwrite the file
    assert httpx.put(base + signed.url, content=b"evil").status_code == 403
    assert fclient.attachments.download(made.id) == b"secret bytes"

    time.sleep(max(0.0, signed.expires_at.timestamp() - time.time()) + 1.1)
    expired = httpx.get(base + signed.url)
    assert expired.status_code == 403
    assert "expired" in expired.json()["error"]["message"]
    assert expired.json()["error"]["field"] == "expires"


def test_oversize_uploads_get_413(fclient: Client, files: FileServer) -> None:
    _thread_with_step(fclient)
    assert fclient.attachments.create(thread_id="t-files", content=b"x" * LIMIT).size == LIMIT
    with pytest.raises(PayloadTooLargeError) as err:
        fclient.attachments.create(thread_id="t-files", content=b"x" * (LIMIT + 1))
    assert err.value.status_code == 413 and err.value.field == "content_base64"
    assert str(LIMIT) in err.value.message
    upload = fclient.attachments.create_upload(mime="application/octet-stream")
    too_big = httpx.put(files.server.url + upload.upload_url, content=b"y" * (LIMIT + 1))
    assert too_big.status_code == 413
    assert too_big.json()["error"]["type"] == "payload_too_large"
    assert fclient.attachments.list(thread_id="t-files").total_count == 1


def test_signed_upload_then_attach_by_object_key(fclient: Client, files: FileServer) -> None:
    step_id = _thread_with_step(fclient)
    upload = fclient.attachments.create_upload(mime="audio/wav")
    put = httpx.put(
        files.server.url + upload.upload_url,
        content=b"RIFF....WAVE",
        headers={"content-type": "audio/wav"},
    )
    assert put.status_code == 200 and put.json()["size"] == 12
    sound = fclient.attachments.create(
        step_id=step_id, object_key=upload.object_key, name="a.wav", mime="audio/wav"
    )
    assert sound.mime == "audio/wav" and fclient.attachments.download(sound.id) == b"RIFF....WAVE"
    assert httpx.get(files.server.url + upload.url).content == b"RIFF....WAVE"


def test_upsert_by_id_is_idempotent(fclient: Client, files: FileServer) -> None:
    step_id = _thread_with_step(fclient)
    made = fclient.attachments.upsert("el-1", step_id=step_id, url="https://e.x/a.png", name="a")
    again = fclient.attachments.upsert("el-1", step_id=step_id, url="https://e.x/a.png", name="a")
    assert made.id == again.id == "el-1" and fclient.attachments.list().total_count == 1
    renamed = fclient.attachments.upsert("el-1", name="b", metadata={"k": 1})
    assert (renamed.name, renamed.url, renamed.metadata) == ("b", "https://e.x/a.png", {"k": 1})
    stored = fclient.attachments.upsert("el-1", content=b"now bytes", mime="text/plain")
    assert stored.size == 9 and fclient.attachments.download("el-1") == b"now bytes"
    old_key = str(stored.object_key)
    replaced = fclient.attachments.upsert("el-1", content=b"newer")
    assert replaced.object_key != old_key and fclient.attachments.download("el-1") == b"newer"
    assert eventually(lambda: not (files.files / old_key).exists())  # the replaced file goes


def test_bad_attachment_input(fclient: Client) -> None:
    step_id = _thread_with_step(fclient)
    upload_key = fclient.attachments.create_upload().object_key
    cases: list[tuple[dict[str, object], str]] = [
        ({"content": b"x"}, "thread_id"),
        ({"step_id": "missing", "content": b"x"}, "step_id"),
        ({"thread_id": "missing", "content": b"x"}, "thread_id"),
        ({"step_id": step_id, "thread_id": "other", "content": b"x"}, "thread_id"),
        ({"step_id": step_id, "content": b"x", "url": "https://e.x/y"}, "content_base64"),
        ({"step_id": step_id, "object_key": "someone-else/01234567"}, "object_key"),
        ({"step_id": step_id, "object_key": upload_key}, "object_key"),  # nothing uploaded
    ]
    for kwargs, field in cases:
        with pytest.raises(UnprocessableEntityError) as err:
            fclient.attachments.create(**kwargs)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs
    with pytest.raises(NotFoundError):
        fclient.attachments.get("missing")
    link = fclient.attachments.create(step_id=step_id, url="https://e.x/y.png")
    with pytest.raises(UnprocessableEntityError):
        fclient.attachments.url(link.id)


def test_invalid_base64_is_422(files: FileServer, ftenant: Tenant, fclient: Client) -> None:
    _thread_with_step(fclient)
    response = httpx.post(
        files.server.url + "/v1/attachments",
        json={"thread_id": "t-files", "content_base64": "not base64!!"},
        headers={"x-api-key": ftenant.api_key},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "content_base64"


def test_delete_attachment_deletes_its_file(fclient: Client, files: FileServer) -> None:
    _thread_with_step(fclient)
    made = fclient.attachments.create(thread_id="t-files", content=b"bye", name="b.txt")
    assert made.object_key is not None
    on_disk = files.files / made.object_key
    assert on_disk.exists()
    url = made.url
    fclient.attachments.delete(made.id)
    assert not on_disk.exists()
    with pytest.raises(NotFoundError):
        fclient.attachments.get(made.id)
    assert url is not None and httpx.get(files.server.url + url).status_code == 404


def test_deleting_steps_and_threads_removes_their_files(fclient: Client, files: FileServer) -> None:
    step_id = _thread_with_step(fclient)
    other_step = fclient.steps.create(thread_id="t-files", type="llm").id
    on_step = fclient.attachments.create(step_id=step_id, content=b"1", name="1.txt")
    on_other = fclient.attachments.create(step_id=other_step, content=b"2", name="2.txt")
    on_thread = fclient.attachments.create(thread_id="t-files", content=b"3", name="3.txt")
    score = fclient.scores.create(name="s", value=1, type="AI", step_id=other_step)
    paths = {a.id: files.files / str(a.object_key) for a in (on_step, on_other, on_thread)}
    assert all(p.exists() for p in paths.values())

    fclient.steps.delete(step_id)
    assert eventually(lambda: not paths[on_step.id].exists())
    with pytest.raises(NotFoundError):
        fclient.attachments.get(on_step.id)
    assert paths[on_other.id].exists() and paths[on_thread.id].exists()

    fclient.threads.delete("t-files")
    assert eventually(lambda: not any(p.exists() for p in paths.values()))
    for gone in (
        lambda: fclient.attachments.get(on_thread.id),
        lambda: fclient.scores.get(score.id),
    ):
        with pytest.raises(NotFoundError):
            gone()
    with pytest.raises(NotFoundError):
        fclient.steps.get(other_step)


async def test_attachments_are_isolated_between_projects(
    fclient: Client, files: FileServer
) -> None:
    _thread_with_step(fclient)
    mine = fclient.attachments.create(thread_id="t-files", content=b"mine", name="m.txt")
    assert mine.object_key is not None
    other = await tenant_on(files)
    with Client(files.server.url, other.api_key) as theirs:
        for call in (
            lambda: theirs.attachments.get(mine.id),
            lambda: theirs.attachments.delete(mine.id),
            lambda: theirs.attachments.url(mine.id),
            lambda: theirs.attachments.download(mine.id),
        ):
            with pytest.raises(NotFoundError):
                call()
        theirs.threads.create(id="t-files")  # the same thread id in their project
        with pytest.raises(UnprocessableEntityError) as err:  # my file is not theirs to attach
            theirs.attachments.create(thread_id="t-files", object_key=mine.object_key)
        assert err.value.field == "object_key"
        their_file = theirs.attachments.create(thread_id="t-files", content=b"theirs")
        assert theirs.attachments.list().total_count == 1
        theirs.threads.delete("t-files")
        assert eventually(lambda: not (files.files / str(their_file.object_key)).exists())
    assert (files.files / mine.object_key).read_bytes() == b"mine"
    assert fclient.attachments.download(mine.id) == b"mine"


# --- the S3 store, against moto's S3 server in a real process ---------------------------------


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("boto3")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _bucket_client(moto_url: str) -> object:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def s3_servers(
    tmp_path_factory: pytest.TempPathFactory,
    own_database: Callable[[str, str], str],
    moto_url: str,
) -> Iterator[dict[str, FileServer]]:
    def start(backend: str) -> FileServer:
        bucket = f"threadline-{backend}-{uuid.uuid4().hex[:8]}"
        _bucket_client(moto_url).create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        env = {
            **S3_ENV,
            "THREADLINE_FILE_STORE": "s3",
            "THREADLINE_S3_BUCKET": bucket,
            "THREADLINE_S3_ENDPOINT_URL": moto_url,
            "THREADLINE_S3_REGION": "us-east-1",
            "THREADLINE_S3_PREFIX": "attachments",
            "THREADLINE_FILE_SWEEP_SECONDS": "0.2",
        }
        url = own_database(backend, "s3")
        data_dir = tmp_path_factory.mktemp(f"s3-{backend}")
        return FileServer(start_server(url, data_dir, env=env), Path(bucket))

    yield from _lazy(start)


@pytest.fixture
def s3_server(s3_servers: dict[str, FileServer], backend: str) -> FileServer:
    return s3_servers[backend]


@pytest.fixture
async def s3_tenant(s3_server: FileServer) -> Tenant:
    return await tenant_on(s3_server)


def test_s3_file_store(s3_server: FileServer, s3_tenant: Tenant, moto_url: str) -> None:
    running, tenant = s3_server, s3_tenant
    bucket = running.files.name
    s3 = _bucket_client(moto_url)

    def keys() -> set[str]:
        listed = s3.list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
        return {item["Key"] for item in listed.get("Contents", [])}

    with Client(running.server.url, tenant.api_key) as client:
        step_id = _thread_with_step(client)
        data = base64.b64decode(base64.b64encode(bytes(range(256)) * 8))
        made = client.attachments.create(step_id=step_id, content=data, name="blob.bin")
        kept = client.attachments.create(thread_id="t-files", content=b"kept", name="k.txt")
        stored = f"attachments/{made.object_key}"
        assert stored in keys()
        assert s3.get_object(Bucket=bucket, Key=stored)["Body"].read() == data  # type: ignore[attr-defined]
        assert made.url is not None
        assert httpx.get(running.server.url + made.url).content == data
        assert client.attachments.download(made.id) == data

        client.attachments.delete(made.id)
        assert stored not in keys()
        client.threads.delete("t-files")
        assert eventually(lambda: f"attachments/{kept.object_key}" not in keys())
