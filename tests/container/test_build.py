"""What the build leaves in the image (no build CA), and what a source change rebuilds (the project only)."""

from __future__ import annotations

import re
import subprocess
import tarfile
import uuid
from pathlib import Path

from tests.container.conftest import FIGURES, SKIP, TAG, build
from tests.container.engine import Engine

pytestmark = SKIP
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.+?)-----END CERTIFICATE-----", re.DOTALL)


def certificates(pem: bytes) -> set[bytes]:
    """The base64 bodies of the certificates in a PEM bundle, whitespace removed."""
    return {re.sub(rb"\s+", b"", body) for body in _PEM.findall(pem)}


def image_files(engine: Engine, image: str) -> dict[str, bytes]:
    """Every regular file of ``image``'s filesystem (``docker export`` of a created container)."""
    container = engine.run("create", image).stdout.strip()
    engine.created.append(("container", container))
    with subprocess.Popen([engine.client, "export", container], env=engine.env, stdout=subprocess.PIPE) as export:
        assert export.stdout is not None
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=export.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile():
                    extracted = archive.extractfile(member)
                    assert extracted is not None
                    files[member.name] = extracted.read()
    assert export.returncode == 0
    return files


def test_the_final_image_holds_nothing_of_the_build_ca(
    engine: Engine, image: str, base: str, build_ca: Path | None
) -> None:
    files = image_files(engine, image)
    assert not [path for path in files if path.startswith("etc/build-ca")], "the build CA folder is in the image"
    assert "etc/pip.conf" not in files
    if build_ca is None:
        return
    base_trust = certificates(files.get("etc/ssl/certs/ca-certificates.crt", b""))
    handed = certificates(build_ca.read_bytes()) - base_trust
    assert handed, f"{build_ca} holds no certificate the base does not trust already: nothing to look for"
    flat = {path: re.sub(rb"\s+", b"", data) for path, data in files.items() if b"CERTIFICATE" in data}
    leaked = sorted(path for path, data in flat.items() if any(cert in data for cert in handed))
    assert leaked == [], f"certificates of the build CA found in the image: {leaked}"


def test_a_source_change_rebuilds_only_the_project(engine: Engine, image: str, context: Path) -> None:
    source = context / "runtime.py"
    original = source.read_text(encoding="utf-8")
    source.write_text(original + f"\n# a source-only change {uuid.uuid4().hex}\n", encoding="utf-8")  # never cached
    try:
        output, took = build(engine, context, f"{TAG}-changed")
    finally:
        source.write_text(original, encoding="utf-8")
    FIGURES["rebuild after a source-only change"] = f"{took:.0f} s"
    steps = _steps(output)
    dependencies = next(step for step in steps if "/opt/venv/bin/pip install -r" in step)
    venv = next(step for step in steps if "COPY --from=venv /opt/venv /opt/venv" in step)
    project = next(step for step in steps if "/opt/venv/bin/pip install --no-deps --target /opt/project ." in step)
    assert _cached(dependencies), f"the dependencies were installed again:\n{dependencies}"
    assert _cached(venv), f"the final stage copied the whole venv again:\n{venv}"
    assert not _cached(project), f"the project was not rebuilt:\n{project}"
    engine.run("rmi", f"{TAG}-changed")


def _steps(output: str) -> list[str]:
    """The build's output cut into its steps (the classic builder's ``Step N/M`` or BuildKit's ``#N``)."""
    if "Step 1/" in output:
        return re.split(r"\n(?=Step \d+/\d+ :)", output)
    by_number: dict[str, list[str]] = {}
    for line in output.splitlines():
        found = re.match(r"#(\d+) ", line)
        if found:
            by_number.setdefault(found.group(1), []).append(line)
    return ["\n".join(lines) for lines in by_number.values()]


def _cached(step: str) -> bool:
    return "Using cache" in step or " CACHED" in step
