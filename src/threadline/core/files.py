"""Signed, expiring file URLs: how a browser fetches (or a client uploads) a file without the key.

A link is ``/v1/files/<object key>?expires=<unix seconds>&signature=<HMAC>``. The HMAC-SHA256 of
the action (``get`` or ``put``), the object key and the expiry, under the server's signing secret,
makes it unforgeable and unchangeable; object keys start with the project id, so a link can never
reach another project's file. Every process shares the secret (setting, or one generated and kept
in the database), so a link minted by one process works on all of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from threadline.core.errors import Forbidden, InvalidInput
from threadline.core.ids import uuid7
from threadline.core.timeutil import isoformat

PATH = "/v1/files/"
MAX_TTL = 7 * 24 * 3600
_FILE_PART = re.compile(r"^[A-Za-z0-9._-]{1,200}$")

#: types a browser may render inline from our origin; anything else downloads as a file, so an
#: uploaded HTML or SVG page can never run script in the UI's origin
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "application/pdf",
        "text/plain",
    }
)


def new_object_key(project_id: str) -> str:
    return f"{project_id}/{uuid7()}"


def check_object_key(project_id: str, key: str, field: str = "object_key") -> str:
    """A client-given object key must be one of this project's (never another project's)."""
    owner, _, name = key.partition("/")
    if owner != project_id or not _FILE_PART.match(name) or ".." in name:
        raise InvalidInput(
            f"{key!r} is not an object key of this project (use one returned by an upload)",
            field=field,
        )
    return key


def disposition(mime: str | None) -> str:
    base = (mime or "").split(";", 1)[0].strip().lower()
    inline = base in INLINE_TYPES or base.startswith(("audio/", "video/"))
    return "inline" if inline else "attachment"


class FileLinks:
    """Mints and checks signed file URLs."""

    def __init__(self, secret: str, *, default_ttl: int, public_url: str | None = None) -> None:
        self._key = secret.encode()
        self.default_ttl = default_ttl
        self.base = (public_url or "").rstrip("/")

    def _signature(self, action: str, key: str, expires: int) -> str:
        message = f"{action}\n{key}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def url(
        self, key: str, *, action: str = "get", expires_in: int | None = None
    ) -> tuple[str, datetime]:
        """A signed URL for ``key`` and when it expires. Without ``expires_in`` the default
        lifetime is rounded up to the next minute, so that reads within one minute hand out the
        same (browser-cacheable) URL."""
        if expires_in is not None:
            expires = math.ceil(time.time()) + min(expires_in, MAX_TTL)
        else:
            expires = math.ceil((time.time() + min(self.default_ttl, MAX_TTL)) / 60) * 60
        query = urlencode({"expires": expires, "signature": self._signature(action, key, expires)})
        link = f"{self.base}{PATH}{quote(key, safe='')}?{query}"
        return link, datetime.fromtimestamp(expires, UTC)

    def verify(self, action: str, key: str, expires: str | None, signature: str | None) -> None:
        """Raise ``Forbidden`` naming the problem unless the link is genuine and unexpired."""
        if not expires or not signature:
            raise Forbidden(
                "this file URL is not signed: ask the API for an attachment's url",
                field="signature",
            )
        if not (expires.isascii() and expires.isdigit()):
            raise Forbidden("this file URL's expiry is not a timestamp", field="expires")
        wanted = self._signature(action, key, int(expires))
        # as bytes: compare_digest refuses str with non-ASCII characters
        if not hmac.compare_digest(wanted.encode(), signature.encode("utf-8", "surrogatepass")):
            raise Forbidden(
                "this file URL's signature is invalid (altered, or signed for another action)",
                field="signature",
            )
        if int(expires) < time.time():
            when = isoformat(datetime.fromtimestamp(int(expires), UTC))
            raise Forbidden(
                f"this file URL expired at {when}: read the attachment again for a fresh url",
                field="expires",
            )

    # --- filling in the URLs of attachments that are read ------------------------------------

    def sign_attachment(self, attachment: dict[str, Any]) -> dict[str, Any]:
        """A stored file gets a fresh signed URL; a link attachment keeps its own URL."""
        if attachment.get("object_key"):
            attachment["url"] = self.url(attachment["object_key"])[0]
        return attachment

    def sign(self, result: Any) -> Any:
        """Fill the URLs of every attachment in a read result (thread, step, page, list)."""
        if isinstance(result, list):
            for item in result:
                self.sign(item)
        elif isinstance(result, dict):
            if "object_key" in result and "mime" in result:
                self.sign_attachment(result)
            for name in ("attachments", "steps", "data", "items"):
                value = result.get(name)
                if isinstance(value, list):
                    self.sign(value)
        return result
