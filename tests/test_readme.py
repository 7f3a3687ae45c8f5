"""The README stays true to the code: every command, every setting and every platform code the bot
explains is in it, so a new team finds what the bot really does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings
from bot.handlers.catalogue import COMMANDS
from bot.laaffic import errors

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text under a `#`-heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}\n", README, flags=re.MULTILINE)
    assert match, f"the README has no heading {title!r}"
    level = len(match.group(1))
    rest = README[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def _table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


@pytest.mark.parametrize("command", COMMANDS, ids=lambda info: info.name)
def test_every_command_is_in_the_readme_with_an_example(command) -> None:  # noqa: ANN001
    rows = _table_rows(_section("Commands"))
    names = {name.strip("` ") for row in rows for name in row[0].split("/") if name.strip("` ")}
    assert command.name in names, f"/{command.name} is missing from the README's command table"
    (row,) = [r for r in rows if command.name in {n.strip("` ") for n in r[0].split("/")}]
    who, example = row[1], row[2]
    assert who and example.startswith("`/"), (
        f"/{command.name}'s row needs who may use it and an example"
    )


def test_the_readme_lists_no_command_the_bot_does_not_have() -> None:
    known = {info.name for info in COMMANDS}
    for row in _table_rows(_section("Commands"))[1:]:
        for name in (n.strip("` ") for n in row[0].split("/")):
            if name:
                assert name in known, f"the README lists /{name}, which the bot does not have"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    variable = field.upper()
    table = _section("Configuration")
    assert f"`{variable}`" in table, f"{variable} is missing from the README's Configuration table"
    assert re.search(rf"^#?\s*{variable}=", ENV_EXAMPLE, flags=re.MULTILINE), (
        f"{variable} is missing from .env.example"
    )


def _code_rows() -> dict[str, str]:
    rows = _table_rows(_section("Troubleshooting").split("**Every platform code.**", 1)[1])
    return {row[0]: " | ".join(row[1:]) for row in rows[1:]}


@pytest.mark.parametrize(
    "code", sorted((c for c in errors._MEANINGS if c != "0"), key=lambda c: -int(c))
)
def test_every_platform_code_is_explained_in_the_readme(code: str) -> None:
    what, todo = (part.format(**errors._LIMITS) for part in errors._MEANINGS[code])
    assert _code_rows().get(f"`{code}`") == f"{what} | {todo}", (
        f"the README's row for platform code {code} does not match bot/laaffic/errors.py"
    )


@pytest.mark.parametrize("key", sorted(errors._PER_ENDPOINT), ids=lambda k: f"{k[0]}-{k[1]}")
def test_every_per_request_meaning_is_in_the_readme(key: tuple[str, str]) -> None:
    code, endpoint = key
    what, todo = (part.format(**errors._LIMITS) for part in errors._PER_ENDPOINT[key])
    label = f"`{code}` ({errors.ACTIONS[endpoint]})"
    assert _code_rows().get(label) == f"{what} | {todo}", (
        f"the README's row for platform code {code} on {endpoint} does not match bot/laaffic/errors.py"
    )


def test_the_push_address_is_explained() -> None:
    assert "https://<your-host>/push/<PUSH_TOKEN>" in README
