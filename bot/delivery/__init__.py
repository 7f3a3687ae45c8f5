"""Delivery: the only code that calls Telegram's send and edit methods, for command replies and
outbox messages alike (pacing, retries, splitting, Telegram's error answers, chat migration,
lost topics)."""
