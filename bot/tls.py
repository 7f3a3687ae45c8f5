"""One TLS context for every outgoing HTTPS client (Telegram, the platform, file downloads).

Building a verifying context reads the whole CA bundle, about 30 ms of CPU, and httpx does it
for every client it creates unless it is handed a context. The bot makes three clients at start,
one per file download and one per simulated push sender; the tests make thousands. The context
is the one httpx would build itself (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR), made
once per process; an SSLContext may be shared by any number of clients and threads.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_tls() -> ssl.SSLContext:
    """The verifying context to pass as `verify=` to httpx clients (and PTB's HTTPXRequest)."""
    return httpx.create_ssl_context()
