"""Views: pure functions from data to the HTML of one kind of message each (escaping and
splitting come from bot/render.py)."""
