"""Typed access to request fields; every bad field becomes a -22 naming the field and what it must be."""

from __future__ import annotations

import math
from typing import Any

from bot.laaffic.simulator.state import PlatformError


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_int(value: Any) -> int | None:
    """An int, or an int spelled as a string ("12"), as the docs' types wobble between the two."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


class Params:
    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self._data = data
        self._prefix = prefix

    def _name(self, name: str) -> str:
        return f"{self._prefix}{name}"

    def has(self, name: str) -> bool:
        return name in self._data

    def raw(self, name: str) -> Any:
        return self._data.get(name)

    def blank(self, name: str) -> bool:
        return _is_blank(self._data.get(name))

    def sub(self, name: str, *, required: bool = False) -> Params:
        value = self._data.get(name)
        if value is None:
            if required:
                raise PlatformError(-22, f"{self._name(name)} is required")
            return Params({}, f"{self._name(name)}.")
        if not isinstance(value, dict):
            raise PlatformError(-22, f"{self._name(name)} must be a JSON object")
        return Params(value, f"{self._name(name)}.")

    def integer(
        self, name: str, *, required: bool = True, low: int | None = None, high: int | None = None
    ) -> int | None:
        value = self._data.get(name)
        if _is_blank(value):
            if required:
                raise PlatformError(-22, f"{self._name(name)} is required")
            return None
        number = to_int(value)
        if number is None:
            raise PlatformError(-22, f"{self._name(name)} must be an integer, not {value!r}")
        if (low is not None and number < low) or (high is not None and number > high):
            span = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            raise PlatformError(-22, f"{self._name(name)} must be in {span}, not {number}")
        return number

    def req_int(self, name: str, *, low: int | None = None, high: int | None = None) -> int:
        value = self.integer(name, required=True, low=low, high=high)
        assert value is not None
        return value

    def choice(self, name: str, allowed: tuple[int, ...], *, required: bool = True) -> int | None:
        value = self.integer(name, required=required)
        if value is not None and value not in allowed:
            raise PlatformError(
                -22,
                f"{self._name(name)} must be one of {', '.join(map(str, allowed))}, not {value}",
            )
        return value

    def text(
        self,
        name: str,
        *,
        required: bool = True,
        min_len: int | None = None,
        max_len: int | None = None,
    ) -> str | None:
        value = self._data.get(name)
        if _is_blank(value):
            if required:
                raise PlatformError(-22, f"{self._name(name)} is required")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(int(value)) if isinstance(value, int) or value.is_integer() else str(value)
        if not isinstance(value, str):
            raise PlatformError(-22, f"{self._name(name)} must be a string")
        if (min_len is not None and len(value) < min_len) or (
            max_len is not None and len(value) > max_len
        ):
            raise PlatformError(
                -22,
                f"{self._name(name)} must be {min_len or 0}-{max_len if max_len is not None else math.inf}"
                f" characters long, not {len(value)}",
            )
        return value

    def req_str(self, name: str, *, min_len: int | None = None, max_len: int | None = None) -> str:
        value = self.text(name, required=True, min_len=min_len, max_len=max_len)
        assert value is not None
        return value

    def int_list(self, name: str, *, required: bool = False) -> list[int] | None:
        value = self._data.get(name)
        if value is None or value == []:
            if required:
                raise PlatformError(-22, f"{self._name(name)} is required (a list of integers)")
            return None
        if not isinstance(value, list):
            value = [value]  # tolerate a bare id where the docs say List
        numbers = [to_int(v) for v in value]
        if any(n is None for n in numbers):
            raise PlatformError(-22, f"{self._name(name)} must be a list of integers")
        return [n for n in numbers if n is not None]

    def str_list(self, name: str) -> list[str] | None:
        value = self._data.get(name)
        if value is None or value == []:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise PlatformError(-22, f"{self._name(name)} must be a list of strings")
        return [str(v) for v in value]


def is_alnum(text: str) -> bool:
    return text.isascii() and text.isalnum()
