#!/usr/bin/env bash
# A stand-in for the base image the Dockerfile names (python:3.11-slim), for engines that reach no
# image registry: a Debian bookworm rootfs with Python 3.11 and venv, from a Debian mirror, imported
# under that name. Run as root (debootstrap); `make container-test` calls it when the base is missing.
#
#   docker/standin-base.sh [TAG]        TAG defaults to python:3.11-slim
#
# DOCKER (the client, default docker) and DEBIAN_MIRROR (default http://deb.debian.org/debian) may be set.
# What differs from the real image: Python is Debian's python3.11 (/usr/bin/python3.11) with `python`
# and `python3` linked into /usr/local/bin where the real image installs its own build; no pip outside
# a venv (the Dockerfile uses only `python -m venv` and the venv's pip).
set -euo pipefail

tag=${1:-python:3.11-slim}
docker=${DOCKER:-docker}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

for tool in debootstrap "$docker"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "standin-base: $tool is not installed (Debian packages: debootstrap, docker.io)" >&2
        exit 1
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "standin-base: debootstrap needs root (uid 0), running as uid $(id -u)" >&2
    exit 1
fi

rootfs=$(mktemp -d "${TMPDIR:-/tmp}/being-standin.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT

started=$SECONDS
debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-distutils,python3-pip-whl,python3-setuptools-whl,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -20 "$rootfs.log" >&2
    rm -f "$rootfs.log"
    exit 1
}
rm -f "$rootfs.log"
# `python` on PATH at /usr/local/bin, where the real image has it (its HEALTHCHECK-style callers and
# `python -m venv` find it there; the venv's interpreter links back to it).
ln -s /usr/bin/python3.11 "$rootfs/usr/local/bin/python"
ln -s /usr/bin/python3.11 "$rootfs/usr/local/bin/python3"
# What a slim image leaves out: the package lists and caches, documentation and manual pages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*

tar -C "$rootfs" --numeric-owner -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL org.digital-being.stand-in="debootstrap bookworm, python3.11 from Debian"' \
    --change 'CMD ["python3"]' \
    - "$tag" >/dev/null
echo "standin-base: $tag from $mirror in $((SECONDS - started)) s"
