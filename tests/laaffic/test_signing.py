"""The request signature (platform-api.md §1.1)."""

from __future__ import annotations

import hashlib

import pytest

from bot.laaffic.signing import CONTENT_TYPE, sign, signed_headers


def test_documented_vector() -> None:
    assert sign("bDqJFiq9", "7bz1lzh9", 1630468800) == "05d7a50893e22a5c4bb3216ae3396c7c"


def test_timestamp_as_string_gives_the_same_sign() -> None:
    assert sign("bDqJFiq9", "7bz1lzh9", "1630468800") == sign("bDqJFiq9", "7bz1lzh9", 1630468800)


@pytest.mark.parametrize(
    ("key", "secret", "ts"),
    [("SQLHdsQFe0Gk8ckwJZqcwxfaYRm0Qu0o", "s3cr3t", 1700000000), ("k", "ü-secret", 1)],
)
def test_sign_is_md5_of_key_secret_timestamp_in_lowercase_hex(
    key: str, secret: str, ts: int
) -> None:
    value = sign(key, secret, ts)
    assert value == hashlib.md5(f"{key}{secret}{ts}".encode()).hexdigest()
    assert len(value) == 32 and value == value.lower()


def test_any_change_changes_the_sign() -> None:
    base = sign("bDqJFiq9", "7bz1lzh9", 1630468800)
    assert sign("bDqJFiq9", "7bz1lzh8", 1630468800) != base
    assert sign("bDqJFiq9", "7bz1lzh9", 1630468801) != base


def test_signed_headers_carry_the_four_documented_headers() -> None:
    headers = signed_headers("bDqJFiq9", "7bz1lzh9", 1630468800)
    assert headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": "05d7a50893e22a5c4bb3216ae3396c7c",
        "Timestamp": "1630468800",
        "Api-Key": "bDqJFiq9",
    }
    assert CONTENT_TYPE == "application/json;charset=UTF-8"
    assert "7bz1lzh9" not in repr(headers)
