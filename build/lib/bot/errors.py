"""Errors the user can act on, raised by services and handlers and rendered by the handler guard."""


class UserFacingError(Exception):
    """Something the user can fix; the message (HTML-safe) says what happened and what to do."""


class UsageError(UserFacingError):
    """Wrong arguments: the message is the command's usage with an example."""
