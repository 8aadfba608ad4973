# The supervisor proxy, running as a non-root user with a health check.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LITELLM_LOCAL_MODEL_COST_MAP=True \
    SUPERVISOR_HOST=0.0.0.0 SUPERVISOR_PORT=8000 \
    SUPERVISOR_DATABASE_URL=sqlite:////data/supervisor.db SUPERVISOR_CACHE_DIR=/data/cache

RUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 supervisor && mkdir /data && chown supervisor /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY supervisor ./supervisor
COPY curricula ./curricula
COPY policies ./policies
RUN pip install --no-cache-dir -e . && chown -R supervisor /app

USER supervisor
VOLUME /data
EXPOSE 8000
# /healthz is 503 "starting" while a first start builds the engine and embeds the curricula (minutes on 2 busy
# cores; a restart on the /data/cache volume takes seconds), then 200: the start period covers a first start
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["supervisor", "serve"]
