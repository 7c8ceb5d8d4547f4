# Roundtable: one image for the bot, `python -m bot migrate`, `backup` and `check`.
#   docker build -t roundtable .
#   docker run --rm -e DISCORD_TOKEN=... -v roundtable-data:/app/data roundtable
# Two stages: the first installs the package into a virtual environment (pip, wheels); the final
# image copies only that environment onto a clean slim base: no compiler, no pip cache, no sources.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY migrations ./migrations
# Every dependency ships manylinux wheels (asyncpg, SQLAlchemy, aiohttp, ...): nothing is compiled.
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall -y pip setuptools wheel

FROM python:${PYTHON_VERSION}-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite+aiosqlite:////app/data/roundtable.db
RUN groupadd --system --gid 10001 roundtable \
    && useradd --system --uid 10001 --gid roundtable --home-dir /app --no-create-home roundtable \
    && mkdir -p /app/data && chown roundtable:roundtable /app/data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER roundtable:roundtable
# The SQLite database (the default) lives here; with PostgreSQL nothing is written to disk.
VOLUME ["/app/data"]
# /healthz answers when METRICS_PORT is set (503: the scheduler stopped or the database is gone);
# without METRICS_PORT the check passes, as there is nothing to ask.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('METRICS_PORT'); sys.exit(0) if not port else urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
