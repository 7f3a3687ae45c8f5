"""Domain operations behind the handlers: each takes the runtime (or a session) and plain values."""
