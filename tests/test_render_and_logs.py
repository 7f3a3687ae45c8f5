import logging

from bot.logs import ScrubbingFilter, register_secret, scrub
from bot.render import esc, split_message


def test_escape_every_value() -> None:
    assert esc("<b>&") == "&lt;b&gt;&amp;"
    assert esc(None) == "—"


def test_split_keeps_lines_whole_and_under_the_limit() -> None:
    text = "\n".join(f"<b>line {i}</b> " + "x" * 50 for i in range(500))
    chunks = split_message(text, limit=1000)
    assert all(len(c) <= 1000 for c in chunks)
    assert "\n".join(chunks) == text
    long_line = "word " * 1000
    assert all(len(c) <= 1000 for c in split_message(long_line, limit=1000))


def test_secrets_and_bot_tokens_are_scrubbed(caplog) -> None:
    register_secret("super-secret-value")
    assert "super-secret-value" not in scrub("secret=super-secret-value")
    assert "***" in scrub("GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe")
    logger = logging.getLogger("test.scrub")
    logger.addFilter(ScrubbingFilter())
    with caplog.at_level(logging.INFO, logger="test.scrub"):
        logger.info("calling with %s", "super-secret-value")
        try:
            raise RuntimeError("boom super-secret-value")
        except RuntimeError:
            logger.exception("failed")
    assert "super-secret-value" not in caplog.text
