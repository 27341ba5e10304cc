# syntax=docker/dockerfile:1
# Digital Being: build the venv in one stage, run it slim and unprivileged in the next.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY operators ./operators
COPY sinks ./sinks
COPY llm ./llm
COPY agent ./agent
COPY service ./service
COPY runtime.py ./
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip && /opt/venv/bin/pip install .

FROM python:3.11-slim AS run
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system being && useradd --system --gid being --home-dir /data --no-create-home being \
    && mkdir -p /data /etc/being && chown being:being /data
COPY --from=build /opt/venv /opt/venv
COPY docker/config.toml /etc/being/config.toml
USER being
WORKDIR /data
VOLUME /data
EXPOSE 8766
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8766/healthz', timeout=4).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["being", "run", "--config", "/etc/being/config.toml"]
