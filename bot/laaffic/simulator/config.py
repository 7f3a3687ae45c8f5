"""Settings of the platform simulator: credentials, pace of the call engine, limits, push retries."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The credentials printed in the platform's public docs (platform-api.md §1.1). They sign nothing real.
SAMPLE_API_KEY = "bDqJFiq9"
SAMPLE_API_SECRET = "7bz1lzh9"
SAMPLE_APP_ID = "HsiT9A6d"


def url_origin(url: str) -> str:
    """scheme://host:port/… of a URL: enough to recognise it, without a token in its path or userinfo."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}/…"


@dataclass
class SimulatorConfig:
    api_key: str = SAMPLE_API_KEY
    api_secret: str = SAMPLE_API_SECRET
    app_id: str = SAMPLE_APP_ID
    # Other applications of the same account: their groups exist, but a task of `app_id` may not use them (-74).
    extra_app_ids: tuple[str, ...] = ("Xq7Lm2Pa",)
    push_url: str | None = None

    seed: int = 1
    # Simulated seconds per real second: 200 makes a 60 s call last 0.3 s.
    speed: float = 1.0
    # The docs name no window for -16 (platform-api.md §5); 300 s is our assumption.
    timestamp_tolerance_s: int = 300
    # The zone of every "yyyy-MM-dd HH:mm:ss" the simulator writes and reads: the bot's
    # PLATFORM_TIMEZONE in `ccbot sandbox`, so both sides agree.
    platform_timezone: str = "Asia/Shanghai"

    # Account limits (the field limits of the API are in bot/laaffic/limits.py). The docs name no
    # upload byte limit (-38); 10 MiB is our assumption.
    max_upload_bytes: int = 10 * 1024 * 1024
    agent_quota_per_group: int = 50
    max_groups_per_app: int = 200

    # Pushes. Ringing: immediate retries, attempts in total. Records: one attempt, then `record_retry_count`
    # retries every `record_retry_interval_s` REAL seconds (not scaled by speed, so tests can set it).
    record_retry_interval_s: float = 1800.0
    record_retry_count: int = 3
    ringing_attempts: int = 3
    push_timeout_s: float = 5.0

    # Call engine (all durations in simulated seconds).
    submit_delay_s: float = 3.0  # a task stays "submitting" (16) this long before "calling" (11)
    answer_rate: float = 0.45  # share of customers who pick up
    agent_answer_rate: float = 0.75  # chance that a ringing agent picks up
    early_hangup_rate: float = 0.08  # customers who answer, then hang up before reaching an agent
    agent_ring_timeout_s: float = 15.0
    max_agents_rung_per_call: int = 3
    auto_call_concurrency: int = 5  # lines used by an automatic-call task (type 0)
    default_max_ringing_time_s: int = 45
    default_display_num: str = "10000"

    # Money, in USD, as the platform's strings.
    rate_per_minute: str = "0.0200"
    initial_balance: str = "100.0000"
    gift: str = "0.0000"
    credit: str = "0.0000"

    # Makes submitTask/resendTask answer -77 ("no minimum rate configured under the application").
    no_minimum_rate: bool = False

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be greater than 0 (simulated seconds per real second)")
        for name in ("answer_rate", "agent_answer_rate", "early_hangup_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.ringing_attempts < 1 or self.record_retry_count < 0:
            raise ValueError("ringing_attempts must be >= 1 and record_retry_count >= 0")
        self.extra_app_ids = tuple(a for a in self.extra_app_ids if a != self.app_id)
        try:
            ZoneInfo(self.platform_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"platform_timezone {self.platform_timezone!r} is not an IANA time zone such as "
                "Asia/Shanghai"
            ) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.platform_timezone)

    @property
    def app_ids(self) -> tuple[str, ...]:
        return (self.app_id, *self.extra_app_ids)

    @property
    def uses_sample_credentials(self) -> bool:
        return self.api_key == SAMPLE_API_KEY and self.api_secret == SAMPLE_API_SECRET

    def __repr__(self) -> str:
        # Neither the secret nor the push URL's path (the listener's token) shows up in logs or test output.
        def shown(name: str) -> str:
            value = getattr(self, name)
            if name == "api_secret":
                return "'***'"
            if name == "push_url" and value:
                return repr(url_origin(value))
            return repr(value)

        listed = ", ".join(f"{f.name}={shown(f.name)}" for f in fields(self))
        return f"SimulatorConfig({listed})"

    @classmethod
    def from_env(cls, **overrides: object) -> SimulatorConfig:
        """Credentials from LAAFFIC_API_KEY / LAAFFIC_API_SECRET / LAAFFIC_APP_ID, else the public samples.

        `overrides` win over the environment; an override of None means "not given".
        """
        values: dict[str, object] = {}
        for name, var in (
            ("api_key", "LAAFFIC_API_KEY"),
            ("api_secret", "LAAFFIC_API_SECRET"),
            ("app_id", "LAAFFIC_APP_ID"),
        ):
            if os.environ.get(var):
                values[name] = os.environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
