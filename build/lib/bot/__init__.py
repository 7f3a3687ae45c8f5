"""ccbot: run the Laaffic call-center platform from Telegram team chats."""

__version__ = "0.1.0"
