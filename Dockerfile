# The supervisor proxy: built in one stage, run from another that has no compiler, no build tools and no pip
# cache (only the installed virtual environment is copied over), as a non-root user with a health check.
#
# Curricula and policies are data, not code: the image carries the shipped ones as defaults, and a deployment
# mounts its own over them (read-only) so that publishing a rule is a file change, picked up by hot reload
# within seconds, never a rebuild:
#   -v ./curricula:/etc/supervisor/curricula:ro -v ./policies:/etc/supervisor/policies:ro
# See docs/deploy.md and compose.yaml (PostgreSQL, two replicas behind one port).

FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY supervisor ./supervisor
RUN pip install .

FROM python:3.11-slim AS run
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH LITELLM_LOCAL_MODEL_COST_MAP=True \
    SUPERVISOR_HOST=0.0.0.0 SUPERVISOR_PORT=8000 \
    SUPERVISOR_CURRICULA_DIR=/etc/supervisor/curricula SUPERVISOR_POLICIES_DIR=/etc/supervisor/policies \
    SUPERVISOR_DATABASE_URL=sqlite:////data/supervisor.db SUPERVISOR_CACHE_DIR=/data/cache
RUN useradd --create-home --uid 10001 supervisor && mkdir /data && chown supervisor /data
COPY --from=build /opt/venv /opt/venv
COPY curricula /etc/supervisor/curricula
COPY policies /etc/supervisor/policies

USER supervisor
WORKDIR /data
VOLUME /data
EXPOSE 8000
# /healthz is 503 "starting" while a first start builds the engine and compiles the curricula, then 200. Measured
# on 2 quiet cores (bench/startup.py): 5 s on the shipped curricula (their sentences' vectors ship in the image),
# 64 s when every sentence must be embedded (a ministry's own curricula), about ten times that on 2 busy cores; a
# restart on the /data/cache volume about 4 s. The start period covers the slowest of these
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["supervisor", "serve"]
