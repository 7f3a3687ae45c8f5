"""A fake Telegram Bot API server speaking real HTTP (filled in by the fake-Telegram work)."""
