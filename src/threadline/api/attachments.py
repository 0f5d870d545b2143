"""``/v1/attachments`` and ``/v1/files``: attachments, their bytes, and signed file links.

``GET`` and ``PUT /v1/files/{object_key}`` take no API key: a signed, expiring URL authorises
them (see ``core/files.py``), so a browser can show an image and an uploader can send bytes.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from threadline.api.datasets import PAGE_QUERY
from threadline.api.responses import json_response
from threadline.api.routing import Ctx, QueryParam, Router, parse_query, read_body, validate
from threadline.client import types as t
from threadline.core.attachments import Files
from threadline.core.errors import InvalidInput
from threadline.core.files import disposition
from threadline.storage.filestore import StoredFile

router = Router("/v1", tag="attachments")

LIST_QUERY = [
    QueryParam("thread_id", "Only this thread's attachments."),
    QueryParam("step_id", "Only this step's attachments."),
    *PAGE_QUERY,
]
SIGNED_QUERY = [
    QueryParam("expires", "Unix time the link expires (part of the signed link).", required=True),
    QueryParam("signature", "The link's signature (part of the signed link).", required=True),
]


def files(ctx: Ctx) -> Files:
    service: Files = ctx.request.app.state.files
    return service


def _stream(
    stored: StoredFile, name: str | None, mime: str | None, *, max_age: int = 0
) -> Response:
    filename = quote(name or "file", safe="")
    headers = {
        "content-length": str(stored.size),
        "content-disposition": f"{disposition(mime)}; filename*=UTF-8''{filename}",
        "x-content-type-options": "nosniff",
        "cache-control": f"private, max-age={max_age}" if max_age > 0 else "no-store",
    }
    if (mime or "").split(";")[0].strip().lower() != "application/pdf":  # viewers need script
        headers["content-security-policy"] = "sandbox; default-src 'none'"
    return StreamingResponse(
        stored.chunks, media_type=mime or "application/octet-stream", headers=headers
    )


@router.post("/attachments", body=t.AttachmentCreate, response=t.Attachment, status=201)
async def create_attachment(ctx: Ctx, body: t.AttachmentCreate) -> Any:
    """Attach a file (base64 bytes, or an uploaded object key) or a link to a thread or step."""
    return await files(ctx).create(ctx.project_id, body)


@router.get("/attachments", response=t.Page[t.Attachment], query=LIST_QUERY)
async def list_attachments(ctx: Ctx, _: None) -> Any:
    """List attachments, newest first."""
    q = validate(t.AttachmentSearch, parse_query(ctx.request, LIST_QUERY))
    return await files(ctx).search(ctx.project_id, q)


@router.get("/attachments/{attachment_id}", response=t.Attachment)
async def get_attachment(ctx: Ctx, _: None) -> Any:
    """Get an attachment; its ``url`` is a fresh signed download link."""
    return await files(ctx).get(ctx.project_id, ctx.path("attachment_id"))


@router.put(
    "/attachments/{attachment_id}", body=t.AttachmentCreate, response=t.Attachment, also=(201,)
)
async def upsert_attachment(ctx: Ctx, body: t.AttachmentCreate) -> Any:
    """Create the attachment with this id (201), or change the fields given (200)."""
    found, created = await files(ctx).upsert(ctx.project_id, ctx.path("attachment_id"), body)
    return json_response(found, status=201 if created else 200)


@router.patch("/attachments/{attachment_id}", body=t.AttachmentUpdate, response=t.Attachment)
async def update_attachment(ctx: Ctx, body: t.AttachmentUpdate) -> Any:
    """Change the fields present; the others (e.g. metadata) are kept."""
    return await files(ctx).update(ctx.project_id, ctx.path("attachment_id"), body)


@router.delete("/attachments/{attachment_id}")
async def delete_attachment(ctx: Ctx, _: None) -> Any:
    """Delete an attachment and its file."""
    await files(ctx).delete(ctx.project_id, ctx.path("attachment_id"))


@router.get(
    "/attachments/{attachment_id}/url",
    response=t.SignedUrl,
    query=[QueryParam("expires_in", "Seconds the link stays valid (max 7 days).", "integer")],
)
async def get_attachment_url(ctx: Ctx, _: None) -> Any:
    """A signed download link that works without the API key until it expires."""
    params = parse_query(ctx.request, [QueryParam("expires_in", "", "integer")])
    expires_in = params.get("expires_in")
    if expires_in is not None and expires_in < 1:
        raise InvalidInput("expires_in must be at least 1 second", field="expires_in")
    return await files(ctx).signed_url(ctx.project_id, ctx.path("attachment_id"), expires_in)


@router.get(
    "/attachments/{attachment_id}/content",
    query=[QueryParam("encoding", "base64: a JSON body with the bytes in base64.")],
)
async def get_attachment_content(ctx: Ctx, _: None) -> Any:
    """The attachment's bytes (or, with ``encoding=base64``, JSON carrying them)."""
    params = parse_query(ctx.request, [QueryParam("encoding", "")])
    found, stored = await files(ctx).content(ctx.project_id, ctx.path("attachment_id"))
    if params.get("encoding") == "base64":
        data = b"".join([chunk async for chunk in stored.chunks])
        return {
            "id": found["id"],
            "name": found["name"],
            "mime": found["mime"],
            "size": len(data),
            "content_base64": base64.b64encode(data).decode(),
        }
    return _stream(stored, found["name"], found["mime"])


@router.post("/files", body=t.FileUploadCreate, response=t.FileUpload, status=201)
async def create_file_upload(ctx: Ctx, body: t.FileUploadCreate) -> Any:
    """A new object key with a signed URL to PUT its bytes to (then attach it by object_key)."""
    return files(ctx).create_upload(ctx.project_id, body)


@router.get("/files/{object_key}", query=SIGNED_QUERY, public=True)
async def download_file(ctx: Ctx, _: None) -> Any:
    """Download a file through a signed link (no API key; 403 once expired or if altered)."""
    q = ctx.request.query_params
    described, stored = await files(ctx).download(
        ctx.path("object_key"), q.get("expires"), q.get("signature")
    )
    name = described["name"] if described else None
    mime = described["mime"] if described else None
    expires = q.get("expires") or "0"
    return _stream(stored, name, mime, max_age=max(int(expires) - int(time.time()), 0))


@router.put("/files/{object_key}", query=SIGNED_QUERY, public=True)
async def upload_file(ctx: Ctx, _: None) -> Any:
    """Store a file's bytes through a signed upload link (no API key; 413 over the limit)."""
    q = ctx.request.query_params
    service = files(ctx)
    service.links.verify("put", ctx.path("object_key"), q.get("expires"), q.get("signature"))
    data = await read_body(ctx.request, service.max_bytes)
    mime = ctx.request.headers.get("content-type")
    return await service.receive_upload(
        ctx.path("object_key"), q.get("expires"), q.get("signature"), data, mime
    )
