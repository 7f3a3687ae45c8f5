"""One `Settings` for the whole process, read from the environment and `.env`.

The names are the external contract in DESIGN.md: add, never rename.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from functools import lru_cache
from typing import Annotated, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.logs import register_settings_secrets

# Names in the tz database that are not a place: fixed offsets and US-style abbreviations ("EST" is
# UTC-5 all year, so a New York team would see every time an hour off in summer). They are refused
# with the zone meant, instead of being taken and showing wrong times.
_ABBREVIATIONS: dict[str, str] = {
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST": "America/Denver",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "HST": "Pacific/Honolulu",
    "CET": "Europe/Berlin",
    "MET": "Europe/Berlin",
    "EET": "Europe/Athens",
    "WET": "Europe/Lisbon",
    "PRC": "Asia/Shanghai",
    "ROC": "Asia/Taipei",
    "ROK": "Asia/Seoul",
}
# Spellings of UTC people type; all mean the one zone "UTC".
_UTC_NAMES = frozenset({"utc", "gmt", "z", "zulu", "etc/utc", "etc/gmt", "universal", "uct"})


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Every zone name in the tz database, by its case-folded spelling."""
    return {name.casefold(): name for name in available_timezones()}


def zone_name(text: str) -> str | None:
    """The tz database's own spelling of a zone a user typed ("asia/kolkata" → "Asia/Kolkata",
    "utc" → "UTC"), or None when there is no such place. Abbreviations that are not a place
    (EST, CET …) are None too: `zone_hint` says which zone to use instead."""
    name = text.strip()
    if not name or len(name) > 64:
        return None
    if name.casefold() in _UTC_NAMES:
        return "UTC"
    if name.upper() in _ABBREVIATIONS:
        return None
    found = _zone_names().get(name.casefold())
    if found is None or found.upper() in _ABBREVIATIONS:
        return None
    return found


def zone_hint(text: str) -> str | None:
    """For an abbreviation refused by `zone_name`, the place's zone a team most likely means."""
    return _ABBREVIATIONS.get(text.strip().upper())


def time_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone called `name` (any case), or None when there is none. ZoneInfo reads a
    file named after the key, so besides ZoneInfoNotFoundError and ValueError a name can raise
    OSError: "Asia" is a directory, a very long name is too long for the file system."""
    found = zone_name(name)
    if found is None:
        return None
    try:
        return ZoneInfo(found)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@lru_cache(maxsize=256)
def _stored_zone(name: str) -> ZoneInfo | None:
    return time_zone(name)


Z = TypeVar("Z", bound=tzinfo)


class ZonedChat(Protocol):
    """What `chat_zone` reads of a chat (storage.models.BoundChat)."""

    timezone: str | None
    summary_timezone: str | None


def chat_zone(chat: ZonedChat | None, default: Z) -> ZoneInfo | Z:
    """THE time zone of a chat, for every time it shows and every local day it counts (summaries,
    exports, digests, relayed messages, task cards, /mute): the chat's `/settings timezone`
    (`/schedule … <zone>` sets the same), else DEFAULT_TIMEZONE (`default`). A stored name that
    no longer reads as a zone falls back to `default` as well; the commands store only names
    that read. `summary_timezone` is what an older version kept for summaries alone; migration
    0004a moves it into `timezone`, and it is read only for a chat the migration did not see."""
    if chat is None:
        return default
    name = chat.timezone or chat.summary_timezone
    if not name:
        return default
    return _stored_zone(name) or default


# The push token is the push address's only protection (`openssl rand -hex 16` makes 32).
PUSH_TOKEN_MIN_LENGTH = 16

# Which variables each command cannot start without.
REQUIRED_FOR: dict[str, tuple[str, ...]] = {
    "run": (
        "TELEGRAM_BOT_TOKEN",
        "LAAFFIC_API_KEY",
        "LAAFFIC_API_SECRET",
        "LAAFFIC_APP_ID",
        "PUSH_TOKEN",
    ),
    "sandbox": ("TELEGRAM_BOT_TOKEN",),
}

HOW_TO_FIX: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": "ask @BotFather for the bot's token and set it",
    "LAAFFIC_API_KEY": "copy it from the platform console, Home → Developers",
    "LAAFFIC_API_SECRET": "copy it from the platform console, Home → Developers",
    "LAAFFIC_APP_ID": "copy the voice application ID from the platform console",
    "PUSH_TOKEN": "make one with `openssl rand -hex 16` (at least 16 characters)",
    "TELEGRAM_WEBHOOK_URL": "set the public https URL Telegram should post updates to",
    "TELEGRAM_WEBHOOK_SECRET": "choose a random string of letters, digits, _ and -",
}


class ConfigError(Exception):
    """A configuration problem, told in one line that names the variable and the fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None

    laaffic_api_key: str | None = None
    laaffic_api_secret: SecretStr | None = None
    laaffic_app_id: str | None = None
    laaffic_base_url: str = "https://api.laaffic.com"

    database_url: str = "sqlite:///data/ccbot.db"
    listen_host: str = "0.0.0.0"
    listen_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port
    push_token: SecretStr | None = None
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_timezone: str = "UTC"
    platform_timezone: str = "Asia/Shanghai"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    number_file_format: Literal["auto", "xls", "xlsx"] = "auto"
    expire_after_days: int = Field(default=7, ge=1, le=365)
    retention_days: int = Field(default=90, ge=1, le=3650)
    public_url: str | None = None

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "laaffic_api_key",
        "laaffic_api_secret",
        "laaffic_app_id",
        "push_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` lists them as `NAME=`: an empty value means "not set", not "".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(p) for p in parts if p)
            except ValueError as exc:
                raise ValueError("must be comma-separated numeric Telegram user ids") from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("telegram_mode", "log_format", "number_file_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("default_timezone", "platform_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        name = zone_name(value)
        if name is None or time_zone(name) is None:
            hint = zone_hint(value)
            instead = f"; for {value} use {hint}" if hint else ""
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin{instead}")
        return name

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the address the platform pushes to)")
        return value.rstrip("/")

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token; it refuses anything else when the webhook is set.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError(
                "may hold only letters A-Z and a-z, digits, _ and - (1 to 256 of them), which "
                "is all Telegram accepts; choose one with `openssl rand -hex 24`"
            )
        return value

    @field_validator("push_token")
    @classmethod
    def _push_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        token = value.get_secret_value()
        # The token is one path segment of the push address: these would end or change it, and
        # then no push could match (every one answered 404).
        if re.search(r"[/?#%\s]", token):
            raise ValueError(
                "may not contain /, ?, #, % or spaces, which cannot stand in the push address "
                "https://host/push/<PUSH_TOKEN>; make one with `openssl rand -hex 16`"
            )
        # It is all that keeps strangers from posting pushes: a short one can be guessed.
        if len(token) < PUSH_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"is shorter than {PUSH_TOKEN_MIN_LENGTH} characters, short enough to be "
                "guessed, and it is the only thing that keeps strangers from posting pushes "
                "to the bot; make one with `openssl rand -hex 16`"
            )
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the public address Telegram posts to)")
        return value

    @field_validator("telegram_api_url", "laaffic_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def require(self, command: str) -> None:
        """Raise ConfigError naming the first variable `command` needs but lacks."""
        needed = list(REQUIRED_FOR.get(command, ()))
        if command in ("run", "sandbox") and self.telegram_mode == "webhook":
            needed += ["TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET"]
        for name in needed:
            value = getattr(self, name.lower())
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if not value:
                raise ConfigError(f"{name} is not set: {HOW_TO_FIX.get(name, 'set it')}.")

    @property
    def platform_zone(self) -> ZoneInfo:
        return ZoneInfo(self.platform_timezone)

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a malformed variable becomes one ConfigError line, not a traceback."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        register_settings_secrets(settings)  # known secrets never reach a log line from now on
        return settings
    except ValidationError as exc:
        # Every malformed variable at once, so fixing one does not just reveal the next.
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "configuration"
            problems.append(f"{name} is invalid: {err['msg'].removeprefix('Value error, ')}")
        fix = "Fix it" if len(problems) == 1 else "Fix them"
        raise ConfigError(f"{'; '.join(problems)}. {fix} in the environment or .env.") from None
