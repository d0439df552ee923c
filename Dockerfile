# syntax=docker/dockerfile:1
# Replenish: one image for the five services. `docker run IMAGE serve forecast` runs one service;
# `docker run IMAGE migrate` / `IMAGE topics` run the one-shot steps. See docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: compile/collect every wheel into a self-contained virtualenv ---------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# A compiler only for the rare dependency without a wheel for this platform; it never reaches the runtime.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, read from pyproject.toml, so a source-only change reuses this (slow) layer. Only the
# runtime ones (no extras: the image talks to a real Kafka and PostgreSQL), at the versions of the lock.
COPY pyproject.toml README.md LICENSE constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt -c constraints.txt
COPY replenish ./replenish
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps . \
    && replenish --help > /dev/null

# ---- runtime: the virtualenv on a slim base, no compiler, unprivileged user ------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="replenish" \
      org.opencontainers.image.description="Event-driven replenishment and stockout alerting" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 replenish \
    && useradd --system --uid 10001 --gid replenish --home-dir /home/replenish --create-home \
       --shell /usr/sbin/nologin replenish
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker/healthcheck.py /usr/local/bin/replenish-healthcheck
# REPLENISH_HOST: listen on every interface inside the container (the default is loopback only).
# Migrations are the one-shot `migrate` step, never a side effect of a replica starting.
# NUMBA_CACHE_DIR/MPLCONFIGDIR: forecasting libraries cache under /tmp, so a read-only root filesystem works.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    REPLENISH_HOST=0.0.0.0 \
    REPLENISH_AUTO_MIGRATE=false \
    NUMBA_CACHE_DIR=/tmp/numba \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /home/replenish
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8005
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/replenish-healthcheck", "/healthz"]
ENTRYPOINT ["replenish"]
CMD ["serve", "ingest"]
