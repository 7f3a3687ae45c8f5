"""Telegram's HTML parse mode: text and entities as the real API computes them from a message sent
with `parse_mode=HTML`, and the same error wording ("can't parse entities: ...")."""

from __future__ import annotations

import re
from typing import Any


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message is the real API's wording."""


_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, index: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, index)
    if not match:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in _NAMED_ENTITIES:
            return None  # Telegram keeps an unknown entity as literal text
        return _NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        decoded = _decode_entity(value, i) if value[i] == "&" else None
        if decoded:
            out.append(decoded[0])
            i = decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _parse_attributes(text: str, i: int, tag: str, offset: int) -> tuple[dict[str, str], int]:
    """Attributes of a start tag from just after its name; returns them and the index after `>`."""
    attributes: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[i] == ">":
            return attributes, i + 1
        start = i
        while i < n and (text[i].isascii() and (text[i].isalnum() or text[i] in "-_")):
            i += 1
        name = text[start:i].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {offset}'
            )
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] != "=":
            attributes[name] = ""  # e.g. <blockquote expandable>
            continue
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end == -1:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            value, i = text[i + 1 : end], end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            value = text[start:i]
        attributes[name] = _unescape(value)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and entities the way Telegram parses `parse_mode=HTML`, raising EntityParseError."""
    out: list[str] = []
    position = 0  # in UTF-16 code units, as entity offsets are
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded:
                out.append(decoded[0])
                position += utf16_length(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            out.append(char)
            position += utf16_length(char)
            i += 1
            continue
        offset = len(text[:i].encode())
        if text.startswith("</", i):
            end = text.find(">", i)
            if end == -1:
                raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
            open_name, start, attributes = stack.pop()
            if name != open_name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            entity = _entity_for(open_name, start, position - start, attributes, stack)
            if entity:
                entities.append(entity)
            i = end + 1
            continue
        j = i + 1
        while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "-"):
            j += 1
        name = text[i + 1 : j].lower()
        if name not in _ENTITY_TYPES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attributes, i = _parse_attributes(text, j, name, offset)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            )
        if name == "tg-emoji" and not attributes.get("emoji-id"):
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        stack.append((name, position, attributes))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return trimmed("".join(out), entities)


def _entity_for(
    name: str, offset: int, length: int, attributes: dict[str, str], stack: list
) -> dict[str, Any] | None:
    if length <= 0:
        return None
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[name], "offset": offset, "length": length}
    if name == "a":
        if not attributes.get("href"):
            return None
        entity["url"] = attributes["href"]
    elif name == "code" and stack and stack[-1][0] == "pre":
        language = attributes.get("class", "")
        if language.startswith("language-"):
            stack[-1][2]["language"] = language.removeprefix("language-")
            return None  # folded into the enclosing pre entity
    elif name == "pre" and attributes.get("language"):
        entity["language"] = attributes["language"]
    elif name == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attributes["emoji-id"]
    return entity


def trimmed(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace of a message and moves entities along."""
    stripped = text.strip()
    lead = utf16_length(text[: len(text) - len(text.lstrip())])
    total = utf16_length(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept
