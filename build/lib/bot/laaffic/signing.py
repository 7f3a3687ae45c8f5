"""The platform's request signature: one signer for every call (platform-api.md §1.1)."""

from __future__ import annotations

import hashlib

CONTENT_TYPE = "application/json;charset=UTF-8"


def sign(api_key: str, api_secret: str, timestamp: int | str) -> str:
    """`Sign` header value: md5(apiKey + apiSecret + timestamp) as 32 lowercase hex digits."""
    raw = f"{api_key}{api_secret}{timestamp}".encode()
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


def signed_headers(api_key: str, api_secret: str, timestamp: int) -> dict[str, str]:
    """The four headers every request carries, GET included."""
    return {
        "Content-Type": CONTENT_TYPE,
        "Sign": sign(api_key, api_secret, timestamp),
        "Timestamp": str(timestamp),
        "Api-Key": api_key,
    }
