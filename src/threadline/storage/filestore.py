"""Where attachment bytes live: a folder on disk (default) or an S3-compatible bucket.

Both implement :class:`FileStore`; keys are ``<project id>/<file id>``. Blocking I/O (disk, boto3)
runs in threads so the event loop never waits on it.

S3 uses boto3 rather than aioboto3: boto3 is the reference client (every S3-compatible service and
moto test against it), its clients are thread-safe, and aioboto3 pins exact aiobotocore/botocore
versions that tend to conflict with whatever else is installed. One call per upload, download
chunk or delete in a worker thread costs far less than the network round trip it wraps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CHUNK = 256 * 1024
_KEY = re.compile(r"^[A-Za-z0-9._-]{1,128}/[A-Za-z0-9._-]{1,200}$")


class FileStoreError(RuntimeError):
    """The file store is misconfigured or unreachable (a server problem, not a client's)."""


def valid_key(key: str) -> bool:
    """``<project>/<file>``, each part made of safe characters (so never a path escape)."""
    return bool(_KEY.match(key)) and ".." not in key


@dataclass
class StoredFile:
    size: int
    chunks: AsyncIterator[bytes]


class FileStore(Protocol):
    async def check(self) -> None:
        """Raise :class:`FileStoreError` with a clear message if the store cannot be used."""

    async def put(self, key: str, data: bytes, mime: str | None) -> None: ...

    async def open(self, key: str) -> StoredFile | None:
        """The file's size and its bytes in chunks, or None if there is no such file."""

    async def size(self, key: str) -> int | None:
        """The file's size in bytes, or None if there is no such file."""

    async def delete(self, key: str) -> None:
        """Remove the file; removing a missing file is not an error."""

    async def close(self) -> None: ...


class LocalFileStore:
    """Files under ``root``: ``root/<project>/<file>``, written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not valid_key(key):
            raise ValueError(f"invalid object key {key!r}")
        return self.root / key

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise FileStoreError(f"cannot create the files folder {self.root}: {exc}") from exc

    async def put(self, key: str, data: bytes, mime: str | None) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def open(self, key: str) -> StoredFile | None:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            return None
        size = os.fstat(handle.fileno()).st_size

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    yield chunk
            finally:
                handle.close()

        return StoredFile(size, chunks())

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def close(self) -> None:
        return None


class S3FileStore:
    """Files in an S3-compatible bucket, under an optional key prefix."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise FileStoreError("file_store=s3 needs boto3: pip install 'threadline[s3]'") from exc
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        if not valid_key(key):
            raise ValueError(f"invalid object key {key!r}")
        return self.prefix + key

    async def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, **kwargs)

    async def check(self) -> None:
        try:
            await self._call(self._client.head_bucket, Bucket=self.bucket)
        except Exception as exc:
            raise FileStoreError(f"S3 bucket {self.bucket!r} is not usable: {exc}") from exc

    async def put(self, key: str, data: bytes, mime: str | None) -> None:
        extra = {"ContentType": mime} if mime else {}
        await self._call(
            self._client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data, **extra
        )

    async def open(self, key: str) -> StoredFile | None:
        client = self._client
        try:
            response = await self._call(client.get_object, Bucket=self.bucket, Key=self._key(key))
        except client.exceptions.NoSuchKey:
            return None
        body = response["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(body.read, CHUNK):
                    yield chunk
            finally:
                body.close()

        return StoredFile(int(response["ContentLength"]), chunks())

    async def size(self, key: str) -> int | None:
        try:
            head = await self._call(
                self._client.head_object, Bucket=self.bucket, Key=self._key(key)
            )
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def close(self) -> None:
        self._client.close()
