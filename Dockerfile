# One image for every role of the platform: each service (web), its Celery worker, the
# one beat, the aggregate health and the migration job, chosen by command (see
# scripts/docker-entrypoint). Build: docker build -t taskplatform .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- requirements: the pinned runtime dependencies, from pyproject.toml ---------------
FROM ${PYTHON_IMAGE} AS requirements
COPY pyproject.toml /tmp/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt

# --- build: those dependencies and the project, in a virtualenv ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN python -m venv /opt/venv
# Dependencies first, from the requirements alone: a change elsewhere in pyproject.toml
# (dev tools, lint settings) or in the source reuses this layer.
# Behind a TLS-intercepting proxy, hand pip the CA bundle as a build secret
# (`--secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt`): the pip steps use it,
# no layer keeps it.
COPY --from=requirements /tmp/requirements.txt /tmp/requirements.txt
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && pip install --no-cache-dir --requirement /tmp/requirements.txt
COPY pyproject.toml README.md ./
COPY services ./services
COPY migrations ./migrations
COPY nginx ./nginx
COPY scripts ./scripts
# Editable install: the console scripts (healthcheck, worker-healthcheck) and one copy of
# the source, at /app, where the final stage puts it too.
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && pip install --no-cache-dir --no-deps --editable . \
    && python -m compileall -q services

# --- final: the virtualenv and the source; no compilers, not root --------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    VAR_DIR=/var/lib/taskplatform \
    APP_ENV=production
# pg_dump and pg_restore for the backup and restore roles: the client of the PostgreSQL
# major docker-compose.yml runs (Debian bookworm's 15; pg_dump refuses a newer server).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app \
    && mkdir -p /var/lib/taskplatform/uploads /var/lib/taskplatform/reports \
       /var/lib/taskplatform/backups \
    && chown -R app:app /var/lib/taskplatform
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 5000 5001 5002 5003 5004 5005 5006 5007
ENTRYPOINT ["/opt/venv/bin/python", "/app/scripts/docker-entrypoint"]
CMD ["--help"]
