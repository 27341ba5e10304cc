# Digital Being: build the venv in one stage, run it slim and unprivileged in the next.
# Every package version comes from docker/constraints.txt; docs/container.md says how to run it.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CONSTRAINT=/src/docker/constraints.txt
WORKDIR /src
# The dependencies first, in a layer of their own: a change to the source does not reinstall them.
COPY pyproject.toml ./
COPY docker/constraints.txt ./docker/constraints.txt
RUN python -m venv /opt/venv \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt
COPY README.md ./
COPY streams ./streams
COPY operators ./operators
COPY sinks ./sinks
COPY llm ./llm
COPY agent ./agent
COPY service ./service
COPY runtime.py ./
# The project itself (its dependencies are in place); then what nothing runs leaves the venv: pip and
# setuptools, the packages' test suites, pyarrow's C++ headers and Cython sources (58 MB of 385).
RUN /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/pip uninstall --yes pip setuptools \
    && find /opt/venv/lib/python3.11/site-packages -type d -name tests -prune -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3.11/site-packages/pyarrow/include /opt/venv/lib/python3.11/site-packages/pyarrow/src \
    && find /opt/venv/lib/python3.11/site-packages/pyarrow \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \) -delete

FROM python:3.11-slim AS run
# BEING_LOG_FORMAT=json: every line the container prints is JSON, the fatal ones too.
# BEING_CONFIG: the settings file every subcommand reads when it is given no --config.
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    BEING_LOG_FORMAT=json BEING_CONFIG=/etc/being/config.toml
# The user and group are pinned, 10001:10001, so a host folder can be handed to them before it is
# bind-mounted: chown 10001:10001 /srv/being-data. A /data they cannot write stops the start with one
# line naming the folder, its owner and mode, and this uid.
RUN groupadd --gid 10001 being \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin being \
    && mkdir -p /data /etc/being && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
COPY docker/config.toml /etc/being/config.toml
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8766
# Liveness: /healthz (the event loop answers in time, the writer runs). Probed every second while
# starting (ready in about 2 s), then every 30 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --start-interval=1s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8766/healthz', timeout=4).status == 200 else 1)"]
# docker stop sends SIGTERM and kills after its grace (10 s unless --stop-timeout / stop_grace_period
# says otherwise): docker/config.toml's drain (3 s) and final writes (at most 3 s) end well inside it.
STOPSIGNAL SIGTERM
# Any subcommand: `docker run IMAGE episodes --limit 5`; each reads the settings BEING_CONFIG names.
ENTRYPOINT ["being"]
CMD ["run"]
