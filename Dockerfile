# Digital Being: the dependencies, the runtime venv and the project each in a build stage of their
# own, run slim and unprivileged in the last. A change to the source rebuilds and copies only the
# project's files. Every package version comes from docker/constraints.txt; docs/container.md says
# how to run it.

FROM python:3.11-slim AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CONSTRAINT=/src/docker/constraints.txt
WORKDIR /src
# Only for a build machine whose way to the package index passes a TLS-inspecting proxy: a CA bundle
# put at docker/build-ca/ca.pem is what pip trusts here, in the build stages (the final stage copies
# only the venv and the project, so the bundle never reaches the image). Without it the folder holds
# only its README.
COPY docker/build-ca/ /etc/build-ca/
RUN if [ -f /etc/build-ca/ca.pem ]; then printf '[global]\ncert = /etc/build-ca/ca.pem\n' > /etc/pip.conf; fi
# The dependencies, from pyproject.toml and the constraints only; then what nothing runs leaves them:
# the packages' test suites, pyarrow's C++ headers and Cython sources.
COPY pyproject.toml ./
COPY docker/constraints.txt ./docker/constraints.txt
RUN python -m venv /opt/venv \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt \
    && find /opt/venv/lib/python3.11/site-packages -type d -name tests -prune -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3.11/site-packages/pyarrow/include /opt/venv/lib/python3.11/site-packages/pyarrow/src \
    && find /opt/venv/lib/python3.11/site-packages/pyarrow \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' \) -delete

# The venv the image runs: the dependencies without pip and setuptools (nothing runs them there).
FROM deps AS venv
RUN /opt/venv/bin/pip uninstall --yes pip setuptools

# The project's own files, apart: its packages and metadata in /opt/project, its `being` script
# (which runs /opt/venv/bin/python) in /opt/project-bin.
FROM deps AS project
COPY README.md ./
COPY streams ./streams
COPY operators ./operators
COPY sinks ./sinks
COPY llm ./llm
COPY agent ./agent
COPY service ./service
COPY runtime.py ./
RUN /opt/venv/bin/pip install --no-deps --target /opt/project . \
    && mv /opt/project/bin /opt/project-bin

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
COPY --from=venv /opt/venv /opt/venv
COPY --from=project /opt/project/ /opt/venv/lib/python3.11/site-packages/
COPY --from=project /opt/project-bin/being /opt/venv/bin/being
COPY docker/config.toml /etc/being/config.toml
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8766
# Liveness: /healthz (the event loop answers in time, the writer runs), every 5 s, so the container
# shows healthy within 5 s of its start (ready in about 2 s). No --start-interval: engines before 25
# (Debian 12's docker.io is 20.10) refuse to build a Dockerfile that has it. Failures in the first
# 20 s do not count; three in a row after that mark it unhealthy.
HEALTHCHECK --interval=5s --timeout=4s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8766/healthz', timeout=4).status == 200 else 1)"]
# docker stop sends SIGTERM and kills after its grace (10 s unless --stop-timeout / stop_grace_period
# says otherwise): docker/config.toml's drain (3 s) and final writes (at most 3 s) end well inside it.
STOPSIGNAL SIGTERM
# Any subcommand: `docker run IMAGE episodes --limit 5`; each reads the settings BEING_CONFIG names.
ENTRYPOINT ["being"]
CMD ["run"]
