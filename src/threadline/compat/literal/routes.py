"""The endpoints Literal AI's SDK (and Chainlit through it) calls, under ``/api``.

- ``POST /api/graphql``: Literal's GraphQL schema (``schema.graphql``, loaded as is) executed by
  Ariadne; the resolvers translate onto the core services.
- ``POST /api/my-project``, ``/api/export/dataset``, ``/api/upload/file``: the REST calls. The
  upload answers with a signed ``PUT`` link to ``/v1/files/...`` that needs no key.

The project comes from the API key (``x-api-key``); the environment stamped on new threads and
steps from the ``x-env`` header (the SDK sends ``LITERAL_ENV``), ``prod`` when absent.

Errors are what the SDK raises on: ``401`` for a missing or invalid key, ``400`` for a body or
document that is not valid GraphQL for this schema, otherwise ``200`` with ``errors`` and
``data: null``: never partial data. Parsed and validated documents are cached by their text (the
SDK sends about fifty distinct ones).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import orjson
from ariadne import graphql, make_executable_schema
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation import ASTValidationRule
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.client import types as t
from threadline.compat.literal import fastpath, wire
from threadline.compat.literal.resolvers import BINDABLES, Context, build
from threadline.core.attachments import Files
from threadline.core.errors import BadRequest, DomainError, NotFound
from threadline.core.ingest import Ingestion

log = logging.getLogger("threadline.literal")
#: Ariadne logs every resolver error; ours are the client's, rendered in ``errors`` instead
_ariadne_log = logging.getLogger("threadline.literal.ariadne")
_ariadne_log.setLevel(logging.CRITICAL)

DEFAULT_ENVIRONMENT = "prod"
SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
SCHEMA: GraphQLSchema = make_executable_schema(SCHEMA_PATH.read_text(), *BINDABLES)
#: what the SDK sends for ``create_scores([])`` (and experiment items without scores)
EMPTY_CREATE_SCORES = re.compile(r"^\s*mutation\s+CreateScores\s*\(\s*\)\s*\{\s*\}\s*$")
CACHE_SIZE = 512


class Documents:
    """Parse and validate each distinct document text once."""

    def __init__(self) -> None:
        self._parsed: dict[str, DocumentNode] = {}
        self._errors: dict[int, list[GraphQLError]] = {}
        self._plans: dict[int, fastpath.IngestPlan | None] = {}

    def parse(self, _context: Any, data: dict[str, Any]) -> DocumentNode:
        text = data["query"]
        found = self._parsed.get(text)
        if found is None:
            if len(self._parsed) >= CACHE_SIZE:
                self._parsed.clear()
                self._errors.clear()
                self._plans.clear()
            found = self._parsed[text] = parse(text, no_location=False)
        return found

    def validate(
        self,
        schema: GraphQLSchema,
        document_ast: DocumentNode,
        rules: Collection[type[ASTValidationRule]] | None = None,
        max_errors: int | None = None,
        type_info: Any = None,
    ) -> list[GraphQLError]:
        key = id(document_ast)
        found = self._errors.get(key)
        if found is None:
            found = self._errors[key] = validate(schema, document_ast, rules, max_errors)
        return found

    def ingest_plan(self, text: str) -> fastpath.IngestPlan | None:
        """The fast-path plan of a valid ``ingestStep``-only document (None otherwise)."""
        try:
            document = self.parse(None, {"query": text})
        except GraphQLError:
            return None
        key = id(document)
        if key not in self._plans:
            valid = not self.validate(SCHEMA, document)
            self._plans[key] = fastpath.plan(document, SCHEMA) if valid else None
        return self._plans[key]


DOCUMENTS = Documents()


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(message: str, status: int, code: str) -> Response:
    return _json(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status
    )


def _format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    original = error.original_error
    out: dict[str, Any] = {"message": error.message}
    if error.path:
        out["path"] = error.path
    if isinstance(original, DomainError):
        out["message"] = original.message
        out["extensions"] = {"code": original.type, "field": original.field}
    elif original is not None and not isinstance(original, ValidationError | GraphQLError):
        log.error("Literal AI request failed", exc_info=original)
        out["message"] = "internal error"
        out["extensions"] = {"code": "internal_error"}
    else:
        out["extensions"] = {"code": "invalid_request"}
    return out


async def _project(request: Request) -> str:
    project_id, _key_id = await request.app.state.auth.check(request)
    return str(project_id)


def _environment(request: Request) -> str:
    value = request.headers.get("x-env", "").strip()
    if len(value) > 64:
        raise BadRequest("x-env is longer than 64 characters", field="x-env")
    return value or DEFAULT_ENVIRONMENT


def _base_url(request: Request) -> str:
    public = request.app.state.settings.public_url
    return str(public or request.base_url).rstrip("/")


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _context(request: Request, project_id: str) -> Context:
    state = request.app.state
    files: Files = state.files
    return Context(
        request=request,
        project_id=project_id,
        environment=_environment(request),
        base_url=_base_url(request),
        service=state.service,
        evaluation=state.evaluation,
        prompts=state.prompts,
        files=files,
        ingestion=Ingestion(state.db, files),
    )


async def graphql_endpoint(request: Request) -> Response:
    try:
        project_id = await _project(request)
        data = await _body(request)
        context = _context(request, project_id)
    except DomainError as exc:
        return _error(exc.message, exc.status, exc.type)
    if not isinstance(data.get("query"), str):
        return _error("the body needs a GraphQL document in 'query'", 400, "bad_request")
    if EMPTY_CREATE_SCORES.match(data["query"]):
        return _json({"data": {}})  # gotcha 1: the SDK then returns [] and keeps going
    if data.get("variables") is not None and not isinstance(data["variables"], dict):
        return _error("'variables' must be an object", 400, "bad_request")
    ingest = DOCUMENTS.ingest_plan(data["query"])
    if ingest is not None:
        try:
            answer = fastpath.run(ingest, data.get("variables") or {}, context)
        except DomainError:
            answer = None  # the executor answers with the exact GraphQL error
        if answer is not None:
            return await _flushed(context, answer)
        context = _context(request, project_id)
    success, result = await graphql(
        SCHEMA,
        data,
        context_value=context,
        query_parser=DOCUMENTS.parse,
        query_validator=DOCUMENTS.validate,
        introspection=False,
        logger=_ariadne_log,
        error_formatter=_format_error,
    )
    errors = result.get("errors")
    if not success and result.get("data") is None and not any("path" in e for e in errors or []):
        return _json({"data": None, "errors": errors}, 400)
    if errors:
        internal = any(e.get("extensions", {}).get("code") == "internal_error" for e in errors)
        return _json({"data": None, "errors": errors}, 500 if internal else 200)
    return await _flushed(context, result.get("data"))


async def _flushed(context: Context, data: Any) -> Response:
    """Write what the document queued (one transaction), then answer ``data``."""
    try:
        await context.flush()
    except DomainError as exc:
        error = {"message": exc.message, "extensions": {"code": exc.type, "field": exc.field}}
        return _json({"data": None, "errors": [error]})
    return _json({"data": data})


async def my_project(request: Request) -> Response:
    try:
        project_id = await _project(request)
    except DomainError as exc:
        return _error(exc.message, exc.status, exc.type)
    return _json({"projectId": project_id})


async def export_dataset(request: Request) -> Response:
    """``get_dataset`` by id or name: the dataset with its items, or ``data: null``."""
    try:
        project_id = await _project(request)
        data = await _body(request)
        evaluation = request.app.state.evaluation
        try:
            if isinstance(data.get("id"), str) and data["id"]:
                found = await evaluation.get_dataset(project_id, data["id"])
            elif isinstance(data.get("name"), str) and data["name"]:
                found = await evaluation.get_dataset_by_name(project_id, data["name"])
            else:
                raise BadRequest("give the dataset's id or name", field="id")
        except NotFound:
            return _json({"data": None})
    except DomainError as exc:
        return _error(exc.message, exc.status, exc.type)
    return _json({"data": wire.dataset(found)})


async def upload_file(request: Request) -> Response:
    """A signed upload target: the SDK PUTs the raw bytes there without its key."""
    try:
        project_id = await _project(request)
        data = await _body(request)
        mime = data.get("contentType")
        body = build(t.FileUploadCreate, {"mime": mime if isinstance(mime, str) else None})
    except DomainError as exc:
        return _error(exc.message, exc.status, exc.type)
    files: Files = request.app.state.files
    made = files.create_upload(project_id, body)
    base = _base_url(request)

    def absolute(url: str) -> str:
        return base + url if url.startswith("/") else url

    headers = {"content-type": body.mime} if body.mime else {}
    return _json(
        {
            "put": {
                "url": absolute(made["upload_url"]),
                "headers": headers,
                "fields": {"key": made["object_key"]},
                "uploadType": "raw",
            },
            "signedUrl": absolute(made["url"]),
            "objectKey": made["object_key"],
        }
    )


def routes() -> list[Route]:
    return [
        Route("/api/graphql", graphql_endpoint, methods=["POST"]),
        Route("/api/my-project", my_project, methods=["POST"]),
        Route("/api/export/dataset", export_dataset, methods=["POST"]),
        Route("/api/upload/file", upload_file, methods=["POST"]),
    ]
