"""Bodies over 1 MiB: 413 without reading them, whether their length is declared or chunked."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from bot.listener import MAX_BODY_BYTES
from tests.listener.conftest import PUSH_TOKEN, Listener, call_body

CHUNK = 64 * 1024


async def _open(listener: Listener) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(listener.base_url)
    return await asyncio.open_connection(url.hostname, url.port)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The status line and everything up to the server closing the connection."""
    data = await asyncio.wait_for(reader.read(), timeout=5)  # EOF: the server closed
    status, _, rest = data.partition(b"\r\n")
    return status, rest


def _padded_call_record(size: int) -> bytes:
    """A valid call-record push of exactly `size` bytes."""
    body = call_body(remark="")
    base = len(json.dumps(body).encode())
    body["remark"] = "x" * (size - base)
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


async def test_a_declared_length_over_1_mib_gets_413_before_the_body_is_sent(
    listener: Listener,
) -> None:
    before = await listener.metric("ccbot_pushes_rejected_total", reason="too_large")
    reader, writer = await _open(listener)
    writer.write(
        f"POST /push/{PUSH_TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {2 * MAX_BODY_BYTES}\r\n\r\n".encode()
        + b'{"callSessionId": "1", "remark": "'  # and nothing more: the server must not wait
    )
    await writer.drain()
    status, rest = await _read_answer(reader)
    writer.close()
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"over 1 MiB" in rest and b"connection: close" in rest.lower()
    assert await listener.metric("ccbot_pushes_rejected_total", reason="too_large") == before + 1
    assert listener.inbox_rows() == [] and listener.dead_letters() == []


async def test_a_chunked_body_growing_past_1_mib_gets_413_without_waiting_for_its_end(
    listener: Listener,
) -> None:
    reader, writer = await _open(listener)
    writer.write(
        f"POST /push/{PUSH_TOKEN}/calls HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    try:
        for _ in range(MAX_BODY_BYTES // CHUNK + 1):  # 1 MiB + 64 KiB, never the last chunk
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass  # the server may close before we are done sending: that is the point
    status, rest = await _read_answer(reader)
    writer.close()
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert listener.inbox_rows() == [] and listener.dead_letters() == []


async def test_a_push_of_exactly_1_mib_is_accepted(listener: Listener) -> None:
    raw = _padded_call_record(MAX_BODY_BYTES)
    response = await listener.post("", raw)
    assert response.status_code == 200
    assert [r.body for r in listener.inbox_rows()] == [raw.decode()]


async def test_one_byte_over_1_mib_is_refused_with_a_declared_length_and_chunked(
    listener: Listener,
) -> None:
    raw = _padded_call_record(MAX_BODY_BYTES + 1)
    declared = await listener.post("", raw)
    assert declared.status_code == 413

    async def pieces():
        for start in range(0, len(raw), 100_000):
            yield raw[start : start + 100_000]

    chunked = await listener.http.post(listener.push_url(), content=pieces())
    assert chunked.status_code == 413
    assert "over 1 MiB" in chunked.json()["error"]
    assert listener.inbox_rows() == []


async def test_a_chunked_push_under_the_limit_is_stored(listener: Listener) -> None:
    raw = _padded_call_record(300_000)

    async def pieces():
        for start in range(0, len(raw), 7_000):
            yield raw[start : start + 7_000]

    response = await listener.http.post(listener.push_url("/calls"), content=pieces())
    assert response.status_code == 200
    assert [r.body for r in listener.inbox_rows()] == [raw.decode()]
