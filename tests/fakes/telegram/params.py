"""A Bot API request's parameters, from the query string and a JSON, urlencoded or multipart body.

Multipart bodies (uploads) are parsed by python-multipart through Starlette's form parser.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.datastructures import UploadFile
from starlette.requests import Request

from tests.fakes.telegram.errors import bad_request
from tests.fakes.telegram.records import UploadedFile

# Form values are strings; these stay strings, every other one is decoded as JSON when it parses
# (numbers, booleans, reply_markup, scope, ...). Keeps a message text like "123" a string.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "file_id",
        "url",
        "secret_token",
        "action",
        "language_code",
        "ip_address",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "emoji",
        "custom_title",
        "document",
        "photo",
    }
)


def decode_value(name: str, raw: str) -> Any:
    if name in STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def read_params(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """The request's parameters (decoded as the Bot API does) and its uploaded files.

    Raises ApiError for a JSON body that is not an object, ValueError for a body that cannot
    be parsed at all.
    """
    raw: dict[str, str] = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        fields, files = await _multipart(request)
        raw.update(fields)
        return {key: decode_value(key, value) for key, value in raw.items()}, files
    body = await request.body()
    if body and kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise bad_request("the request body must be a JSON object")
        return {**{k: decode_value(k, v) for k, v in raw.items()}, **data}, files
    if body:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {key: decode_value(key, value) for key, value in raw.items()}, files


async def _multipart(request: Request) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    try:
        form = await request.form()
    except Exception as exc:  # starlette's MultiPartException and python-multipart's errors
        raise ValueError(f"bad multipart body: {exc}") from exc
    try:
        for name, value in form.multi_items():
            # httpx %-escapes quotes in a part's name and file name; Telegram sees the real ones.
            if isinstance(value, UploadFile):
                files[unquote(name)] = UploadedFile(
                    file_name=unquote(value.filename or ""),
                    content=await value.read(),
                    mime_type=value.content_type,
                )
            else:
                fields[unquote(name)] = value
    finally:
        await form.close()
    return fields, files
