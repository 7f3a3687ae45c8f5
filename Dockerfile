# ccbot: bot + push listener + scheduler in one process.
#   docker build -t ccbot .
#   docker run --env-file .env -p 8080:8080 -v ccbot-data:/data ccbot
# The SQLite default lives in the /data volume; `docker compose up` runs it with PostgreSQL instead.

# --- build: the ccbot wheel, then a virtualenv with it and its runtime dependencies only ----------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/ccbot \
 && /opt/ccbot/bin/pip install /wheels/*.whl

# --- runtime: the virtualenv, a non-root user, a data volume ----------------------------------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="ccbot" \
      org.opencontainers.image.description="Run the Laaffic call-center platform from Telegram team chats"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/ccbot/bin:$PATH \
    DATABASE_URL=sqlite:////data/ccbot.db \
    LISTEN_HOST=0.0.0.0 \
    LISTEN_PORT=8080

# A font with Chinese glyphs, so a Chinese chat's daily chart has Chinese labels (bot/reports/chart.py
# falls back to English ones without it). fonts-wqy-zenhei is one file of about 16 MB.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
 && rm -rf /var/lib/apt/lists/*

# /app/data points into the volume too, so that .env.example's relative
# DATABASE_URL=sqlite:///data/ccbot.db (if copied into .env) also keeps the database across restarts.
RUN groupadd --system --gid 10001 ccbot \
 && useradd --system --no-log-init --uid 10001 --gid 10001 --no-create-home ccbot \
 && mkdir -p /data /app \
 && ln -s /data /app/data \
 && chown ccbot:ccbot /data

COPY --from=build /opt/ccbot /opt/ccbot

WORKDIR /app
# Numeric, so that runtimes can check it is not root (Kubernetes runAsNonRoot).
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080

# Liveness: the process answers and its database too (503 otherwise, which urlopen raises on).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LISTEN_PORT', '8080'), timeout=4)"]

# ccbot stops on SIGTERM: it closes the listener, the Telegram updater and the platform client,
# well within Docker's default 10 s grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["ccbot"]
CMD ["run"]
