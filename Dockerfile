FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install . && useradd --create-home --uid 10001 ccbot && mkdir -p /app/data && chown ccbot /app/data

USER ccbot
ENV DATABASE_URL=sqlite:////app/data/ccbot.db LISTEN_HOST=0.0.0.0 LISTEN_PORT=8080
EXPOSE 8080
VOLUME ["/app/data"]
CMD ["ccbot", "run"]
