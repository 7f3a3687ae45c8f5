"""The catalogs: every text the bot can show has its Chinese translation, with the same
placeholders, and the compiled .mo files committed beside the .po files say the same."""

from __future__ import annotations

import gettext
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n
from bot.i18n import _, n_, speaking

LOCALES = Path(i18n.__file__).parent / "locales"
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2), "count_text": (2, 3)}
TRANSLATED = [lang for lang in i18n.CHOICES if lang != i18n.DEFAULT]


def source_messages() -> dict[str, tuple[str, ...]]:
    """Every text marked in bot/ (what `make i18n` extracts), by its English id."""
    found: dict[str, tuple[str, ...]] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(LOCALES.parent), [("**.py", "python")], keywords=KEYWORDS
    ):
        ids = message if isinstance(message, tuple) else (message,)
        found[ids[0]] = ids
    return found


def catalog(language: str):  # noqa: ANN201
    with open(LOCALES / language / "LC_MESSAGES" / "ccbot.po", "rb") as f:
        return read_po(f, locale=language)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_in_the_source_has_a_translation(language: str) -> None:
    translations = catalog(language)
    missing = []
    for msgid, ids in source_messages().items():
        message = translations.get(ids if len(ids) > 1 else msgid)
        strings = message.string if message is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if message is None or message.fuzzy or not all(strings):
            missing.append(msgid)
    assert not missing, f"{len(missing)} text(s) without a {language} translation (run make i18n "
    f"and translate them): {missing[:10]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders_of_their_english_text(language: str) -> None:
    wrong = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(placeholders(i) for i in ids))
        for text in strings:
            if text and placeholders(text) != expected:
                wrong.append((ids[0], placeholders(text) ^ expected))
    assert not wrong, wrong


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_committed_mo_file_matches_the_po_file(language: str) -> None:
    with open(LOCALES / language / "LC_MESSAGES" / "ccbot.mo", "rb") as f:
        compiled = gettext.GNUTranslations(f)
    for message in catalog(language):
        if not message.id or not message.string:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(message.id[0], message.id[1], 5) == message.string[0], (
                f"{message.id[0]!r}: the .mo is stale; run make i18n"
            )
        else:
            assert compiled.gettext(message.id) == message.string, (
                f"{message.id!r}: the .mo is stale; run make i18n"
            )


def test_the_catalogs_are_package_data_so_an_installed_bot_has_them() -> None:
    pyproject = (LOCALES.parent.parent / "pyproject.toml").read_text()
    assert '"locales/*/LC_MESSAGES/*.mo"' in pyproject


def test_the_glossary_is_in_the_chinese_catalog_header() -> None:
    header = (LOCALES / "zh" / "LC_MESSAGES" / "ccbot.po").read_text().split('msgid ""')[0]
    for term in (
        "坐席组",
        "坐席",
        "外呼任务",
        "号码文件",
        "被叫号码",
        "振铃",
        "通话记录",
        "接通率",
        "外呼倍率",
        "余额",
        "群呼转坐席",
        "自动外呼",
    ):
        assert term in header


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("zh", "zh"),
        ("zh-hans", "zh"),
        ("zh-CN", "zh"),
        ("zh-hant", "zh"),
        ("zh_TW", "zh"),
        ("en-GB", "en"),
        ("en", "en"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_telegram_language_codes_map_to_our_languages(
    code: str | None, language: str | None
) -> None:
    assert i18n.normalise(code) == language


def test_a_chat_speaks_its_own_choice_then_in_private_the_users_language_then_english() -> None:
    assert i18n.language_of("zh", "en", private=True) == "zh"
    assert i18n.language_of(None, "zh-hans", private=True) == "zh"
    assert i18n.language_of(None, "zh-hans", private=False) == "en"
    assert i18n.language_of(None, "de", private=True) == "en"


def test_texts_plurals_and_values_follow_the_language_of_the_context() -> None:
    assert _("Saved.") == "Saved."
    with speaking("zh"):
        assert _("Saved.") == "已保存。"
        assert i18n.number(12345) == "12,345"
        assert i18n.spoken_duration(3900) == "1小时5分"
        assert i18n.percent(0.456) == "46%"
    assert n_("<b>Last {count} platform calls</b>", "<b>Last {count} platform calls</b>", 2) == (
        "<b>Last 2 platform calls</b>"
    )
    with speaking(i18n.PSEUDO):
        assert _("Saved.") == "⟦Saved.⟧"
    assert i18n.PSEUDO not in i18n.CHOICES


def _marked_in_source() -> set[str]:
    """The literal first argument of every _(), N_() and n_() call in bot/, read with ast."""
    import ast

    found = set()
    for path in (LOCALES.parent).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_", "n_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_marked_text_reaches_the_catalog() -> None:
    """The extractor skips a _() call it cannot see (inside an f-string's braces, say): such a
    text would stay English in every chat. Take it out of the f-string."""
    missed = _marked_in_source() - set(source_messages())
    assert not missed, missed
