"""A tiny real HTTP server answering what a test scripts: for answer shapes the docs allow but the
simulator does not produce (numeric status, top-level balance, a proxy's error page, …)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    body: Any = None  # dict/list → JSON; bytes/str as they are
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False  # drop the connection instead of answering


Script = Callable[[Seen], Answer | Awaitable[Answer]]


class ScriptedPlatform:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self._server: asyncio.base_events.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, value = raw.decode().split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                payload = await reader.readexactly(length) if length else b""
                url = urlsplit(target)
                seen = Seen(
                    method,
                    url.path,
                    dict(parse_qsl(url.query)),
                    headers,
                    json.loads(payload) if payload else None,
                )
                self.seen.append(seen)
                answer = self.script(seen)
                if isinstance(answer, Awaitable):
                    answer = await answer
                if answer.close:
                    return
                body = answer.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                elif isinstance(body, str):
                    body = body.encode()
                body = body or b""
                head = [f"HTTP/1.1 {answer.status} X", f"Content-Length: {len(body)}"]
                head += [f"{k}: {v}" for k, v in answer.headers.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
