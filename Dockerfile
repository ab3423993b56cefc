# The adapter's worker and Event API server, one image for both:
#   docker build -t inngest-temporal-adapter .
#   docker run --rm -e TEMPORAL_ADDRESS=temporal:7233 inngest-temporal-adapter
#   docker run --rm -e TEMPORAL_ADDRESS=temporal:7233 -e INNGEST_EVENT_KEY=... -p 8288:8288 \
#       inngest-temporal-adapter adapter serve --host 0.0.0.0
# docker-compose.yml builds it for the `worker` and `events` services.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The library first (changes less often than the functions), then the user's functions.
COPY pyproject.toml README.md ./
COPY adapter ./adapter
RUN pip install . && rm -rf build *.egg-info

COPY functions ./functions

# An unprivileged user; .state is where the example functions keep their SQLite files
# (a volume in docker-compose.yml).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin adapter \
    && mkdir -p /app/.state \
    && chown adapter:adapter /app/.state
USER adapter

EXPOSE 8288
CMD ["adapter", "worker"]
