"""Every Prometheus metric the bot exposes on `GET /metrics`, defined once.

The names are part of the deployment contract (`deploy/` has alert rules and a dashboard for
them): add, don't rename. One registry per process, so tests that start several services in one
process see the sum, which is what a scrape of that process would show.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# `*_created` series double the exposition and nothing here reads them.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)

# The listener
PUSHES_RECEIVED = Counter(
    "ccbot_pushes_received", "Pushes stored, by kind (ringing, call)", ["kind"], registry=REGISTRY
)
PUSHES_DUPLICATE = Counter(
    "ccbot_pushes_duplicate",
    "Pushes (or events in them) already seen, answered 200 and not relayed again",
    ["kind"],
    registry=REGISTRY,
)
PUSHES_REJECTED = Counter(
    "ccbot_pushes_rejected",
    "Pushes refused, by reason (bad_token, too_large, not_json, bad_shape, ...)",
    ["reason"],
    registry=REGISTRY,
)
DATABASE_WRITES_REFUSED = Gauge(
    "ccbot_database_writes_refused",
    "1 while the database takes no writes, by reason (database_full, database_unavailable)",
    ["reason"],
    registry=REGISTRY,
)
PUSHES_RATE_LIMITED = Counter(
    "ccbot_pushes_rate_limited",
    "Push requests with a wrong token answered 429, because their client address sent more "
    "than 20 wrong tokens in a minute (right-token pushes are never limited)",
    registry=REGISTRY,
)
PUSH_COMMIT_SECONDS = Histogram(
    "ccbot_push_commit_seconds",
    "From a push's arrival to the commit that holds it",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)

# The relay and the sender
RELAY_LAG_SECONDS = Gauge(
    "ccbot_relay_lag_seconds", "Age of the oldest unsent outbox message", registry=REGISTRY
)
PUSHES_UNROUTED = Counter(
    "ccbot_pushes_unrouted",
    "Ringing events and call records stored that no chat routes, by kind (ringing, call)",
    ["kind"],
    registry=REGISTRY,
)
PUSHES_FAILED = Counter(
    "ccbot_pushes_failed",
    "Acknowledged pushes the relay could not store as rows, by reason (unreadable, refused, "
    "gave_up); each is kept in dead_letter and told to the admins",
    ["reason"],
    registry=REGISTRY,
)
INBOX_DEPTH = Gauge("ccbot_inbox_depth", "Stored pushes not yet relayed", registry=REGISTRY)
OUTBOX_DEPTH = Gauge("ccbot_outbox_depth", "Messages waiting to be sent", registry=REGISTRY)
MESSAGES_SENT = Counter(
    "ccbot_messages_sent", "Messages delivered to Telegram, by kind", ["kind"], registry=REGISTRY
)
MESSAGES_RETRIED = Counter(
    "ccbot_messages_retried",
    "Send attempts that will be retried, by reason (retry_after, network, server_error, ...)",
    ["reason"],
    registry=REGISTRY,
)
ALERTS_STARTED = Counter(
    "ccbot_alerts_started",
    "Call-centre alerts raised in a chat, by rule (unanswered, answer-rate, missed-rings, ...)",
    ["rule"],
    registry=REGISTRY,
)
ALERTS_CLEARED = Counter(
    "ccbot_alerts_cleared",
    "Call-centre alerts whose condition cleared (or whose rule was turned off), by rule",
    ["rule"],
    registry=REGISTRY,
)
MESSAGES_FAILED = Counter(
    "ccbot_messages_failed",
    "Messages given up on after their attempts, by reason",
    ["reason"],
    registry=REGISTRY,
)

# The platform client
PLATFORM_CALLS = Counter(
    "ccbot_platform_calls",
    "Platform API calls, by endpoint and result code ('0' is success; 'http', 'network' for "
    "transport failures)",
    ["endpoint", "code"],
    registry=REGISTRY,
)
PLATFORM_CALL_SECONDS = Histogram(
    "ccbot_platform_call_seconds",
    "Platform API call latency, by endpoint",
    ["endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
    registry=REGISTRY,
)
PLATFORM_ERRORS = Counter(
    "ccbot_platform_errors",
    "Platform API calls that failed, by endpoint and code",
    ["endpoint", "code"],
    registry=REGISTRY,
)


def render_metrics() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
