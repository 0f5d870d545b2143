"""Attachments and their files: upload, signed download and upload links, deletion, sweeping.

Bytes are written to the file store *before* the attachment row is committed (so a row never
points at missing bytes) and deleted *after* the row is gone (through the ``file_deletions``
outbox, so a crash in between never leaks a file). Deleting a thread or a step queues its
attachments' files in the same transaction; the sweeper running in every server process removes
them within ``file_sweep_seconds``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import mimetypes
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from threadline.client import types as t
from threadline.core.errors import InvalidInput, NotFound, PayloadTooLarge
from threadline.core.files import FileLinks, check_object_key, new_object_key
from threadline.settings import Settings
from threadline.storage import attachments, secrets
from threadline.storage.database import Database
from threadline.storage.filestore import (
    FileStore,
    LocalFileStore,
    S3FileStore,
    StoredFile,
    valid_key,
)
from threadline.storage.pagination import PageRequest

log = logging.getLogger("threadline.files")

SECRET_NAME = "file_url_signing_key"


def open_file_store(settings: Settings) -> FileStore:
    if settings.file_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("file_store=s3 needs THREADLINE_S3_BUCKET")
        return S3FileStore(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalFileStore(settings.files_dir)


def page_of(q: t.PageQuery, *, descending: bool = True) -> PageRequest:
    return PageRequest(
        first=q.first,
        after=q.after,
        before=q.before,
        limit=q.limit,
        offset=q.offset,
        descending=descending,
        include_total=q.include_total,
    )


def _decode(text: str, limit: int) -> bytes:
    if len(text) * 3 // 4 > limit + 3:
        raise PayloadTooLarge(f"the file is over the {limit}-byte limit", field="content_base64")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content_base64 is not valid base64", field="content_base64") from None
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is over the {limit}-byte limit", field="content_base64")
    return data


def _name_from_url(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).name or "file"


class Files:
    """Attachments of one database and one file store; ``links`` signs their URLs."""

    def __init__(
        self,
        db: Database,
        store: FileStore,
        links: FileLinks,
        *,
        max_bytes: int,
        sweep_seconds: float = 2.0,
    ) -> None:
        self.db = db
        self.store = store
        self.links = links
        self.max_bytes = max_bytes
        self.sweep_seconds = sweep_seconds
        self._sweeper: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()

    @classmethod
    async def open(cls, db: Database, settings: Settings) -> Files:
        """Open the configured file store (checked) and the signing secret (shared by processes)."""
        store = open_file_store(settings)
        await store.check()
        secret = settings.signing_secret
        if not secret:
            secret = await db.write(secrets.get_or_create, SECRET_NAME)
        links = FileLinks(
            secret, default_ttl=settings.file_url_seconds, public_url=settings.public_url
        )
        return cls(
            db,
            store,
            links,
            max_bytes=settings.max_file_bytes,
            sweep_seconds=settings.file_sweep_seconds,
        )

    # --- attachments ---------------------------------------------------------------------------

    async def create(self, project_id: str, body: t.AttachmentCreate) -> dict[str, Any]:
        """Store the bytes (if any), then the attachment row; 413 over ``max_file_bytes``."""
        data = body.model_dump(exclude={"content_base64"})
        if body.content_base64 is not None and (body.url or body.object_key):
            raise InvalidInput(
                "give the bytes (content_base64) or where they are (object_key, url), not both",
                field="content_base64",
            )
        if body.object_key is not None:
            data["size"] = await self._uploaded_size(project_id, body.object_key)
        data["name"] = body.name or (_name_from_url(body.url) if body.url else "file")
        if body.mime is None:
            data["mime"] = mimetypes.guess_type(data["name"])[0]
        if body.content_base64 is None:
            created = await self.db.write(attachments.create, project_id, data)
            return self.links.sign_attachment(created)
        content = _decode(body.content_base64, self.max_bytes)
        key = new_object_key(project_id)
        await self.store.put(key, content, data["mime"])
        data.update(object_key=key, size=len(content))
        try:
            created = await self.db.write(attachments.create, project_id, data)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.store.delete(key)
            raise
        return self.links.sign_attachment(created)

    async def uploaded_size(self, project_id: str, key: str) -> int:
        """The size of a file uploaded under this project's ``key`` (422 if none)."""
        return await self._uploaded_size(project_id, key)

    async def _uploaded_size(self, project_id: str, key: str) -> int:
        check_object_key(project_id, key)
        size = await self.store.size(key)
        if size is None:
            raise InvalidInput(f"nothing was uploaded under {key!r}", field="object_key")
        return size

    async def upsert(
        self, project_id: str, attachment_id: str, body: t.AttachmentCreate
    ) -> tuple[dict[str, Any], bool]:
        """Create the attachment with this id, or change the fields given (idempotent, for
        ingestion that may send the same attachment twice). Returns (attachment, created)."""
        if body.id is not None and body.id != attachment_id:
            raise InvalidInput("the body's id differs from the one in the path", field="id")
        try:
            await self.db.read(attachments.get, project_id, attachment_id)
        except NotFound:
            given = body.model_copy(update={"id": attachment_id})
            return await self.create(project_id, given), True
        changes = body.model_dump(
            exclude_unset=True, exclude={"id", "thread_id", "step_id", "content_base64"}
        )
        if changes.get("object_key") is not None:
            changes["size"] = await self._uploaded_size(project_id, changes["object_key"])
        key = None
        if body.content_base64 is not None:
            content = _decode(body.content_base64, self.max_bytes)
            key = new_object_key(project_id)
            await self.store.put(key, content, body.mime)
            changes.update(object_key=key, size=len(content))
        try:
            updated, replaced = await self.db.write(
                attachments.update, project_id, attachment_id, changes
            )
        except BaseException:
            if key is not None:
                with contextlib.suppress(Exception):
                    await self.store.delete(key)
            raise
        if replaced:
            self.kick()
        return self.links.sign_attachment(updated), False

    async def get(self, project_id: str, attachment_id: str) -> dict[str, Any]:
        found = await self.db.read(attachments.get, project_id, attachment_id)
        return self.links.sign_attachment(found)

    async def update(
        self, project_id: str, attachment_id: str, body: t.AttachmentUpdate
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        if changes.get("object_key") is not None:
            changes["size"] = await self._uploaded_size(project_id, changes["object_key"])
        updated, replaced = await self.db.write(
            attachments.update, project_id, attachment_id, changes
        )
        if replaced:
            self.kick()
        return self.links.sign_attachment(updated)

    async def delete(self, project_id: str, attachment_id: str) -> None:
        """Delete the attachment and, once that is committed, its file."""
        key = await self.db.write(attachments.delete, project_id, attachment_id)
        if key:
            try:
                await self.sweep()
            except Exception:  # the row is gone; the sweeper retries the file later
                log.warning("could not delete the file %s yet", key, exc_info=True)

    async def search(self, project_id: str, q: t.AttachmentSearch) -> dict[str, Any]:
        page = page_of(q)
        result = await self.db.read(
            lambda c: attachments.list_for(
                c, project_id, page, thread_id=q.thread_id, step_id=q.step_id
            )
        )
        return self.links.sign(result)  # type: ignore[no-any-return]

    async def signed_url(
        self, project_id: str, attachment_id: str, expires_in: int | None
    ) -> dict[str, Any]:
        found = await self.db.read(attachments.get, project_id, attachment_id)
        if not found["object_key"]:
            raise InvalidInput(f"attachment {attachment_id!r} is a link, not a stored file")
        url, expires_at = self.links.url(found["object_key"], expires_in=expires_in)
        return {"url": url, "expires_at": expires_at}

    async def content(
        self, project_id: str, attachment_id: str
    ) -> tuple[dict[str, Any], StoredFile]:
        found = await self.db.read(attachments.get, project_id, attachment_id)
        if not found["object_key"]:
            raise NotFound(f"attachment {attachment_id!r} is a link: fetch its url instead")
        stored = await self.store.open(found["object_key"])
        if stored is None:
            raise NotFound(f"the file of attachment {attachment_id!r} is missing")
        return found, stored

    # --- signed uploads and downloads (no API key) -----------------------------------------

    def create_upload(self, project_id: str, body: t.FileUploadCreate) -> dict[str, Any]:
        """A new object key with a signed PUT URL for its bytes and a signed GET URL."""
        key = new_object_key(project_id)
        upload_url, expires_at = self.links.url(key, action="put", expires_in=body.expires_in)
        url, _ = self.links.url(key, expires_in=body.expires_in)
        return {"object_key": key, "upload_url": upload_url, "url": url, "expires_at": expires_at}

    def _checked_key(self, action: str, key: str, expires: str | None, sig: str | None) -> str:
        self.links.verify(action, key, expires, sig)
        if not valid_key(key):  # cannot happen for a key we signed; defence in depth
            raise NotFound("no such file")
        return key

    async def receive_upload(
        self, key: str, expires: str | None, signature: str | None, data: bytes, mime: str | None
    ) -> dict[str, Any]:
        self._checked_key("put", key, expires, signature)
        await self.store.put(key, data, mime)
        return {"object_key": key, "size": len(data)}

    async def download(
        self, key: str, expires: str | None, signature: str | None
    ) -> tuple[dict[str, Any] | None, StoredFile]:
        """The attachment describing the file (for its name and type, if any) and the bytes."""
        self._checked_key("get", key, expires, signature)
        project_id = key.split("/", 1)[0]
        described = await self.db.read(attachments.by_object_key, project_id, key)
        stored = await self.store.open(key)
        if stored is None:
            raise NotFound("this file no longer exists")
        return described, stored

    # --- removing the files of deleted attachments -------------------------------------------

    async def sweep(self) -> int:
        """Delete queued files no attachment uses any more; returns how many were processed."""
        done = 0
        while True:
            pending = await self.db.read(attachments.pending_deletions)
            if not pending:
                return done
            for _, key, still_used in pending:
                if not still_used and valid_key(key):
                    await self.store.delete(key)
            await self.db.write(attachments.forget_deletions, [(p, k) for p, k, _ in pending])
            done += len(pending)

    def kick(self) -> None:
        """Ask the sweeper to run now rather than at its next tick."""
        self._kick.set()

    def start_sweeper(self) -> None:
        async def run() -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), self.sweep_seconds)
                self._kick.clear()
                try:
                    await self.sweep()
                except Exception:
                    log.warning("could not delete the files of deleted attachments", exc_info=True)

        self._sweeper = asyncio.get_running_loop().create_task(run())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.store.close()
