"""Write docker/constraints.txt: the exact version of every package the image installs.

Run it in the venv the tests pass in (``python docker/lock.py > docker/constraints.txt``): it
walks ``[project] dependencies`` of pyproject.toml through the installed packages' own
requirements (markers evaluated for this interpreter, as the image's Linux CPython 3.11 does)
and pins what is installed. The build backend's packages (hatchling and what it needs) are
pinned below them, from ``BUILD_PINS``: they are not installed in a development venv.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent

BUILD_PINS = {
    "hatchling": "1.33.0",
    "packaging": "26.4",
    "pathspec": "1.1.1",
    "pluggy": "1.7.0",
    "tomlkit": "0.15.2",
    "trove-classifiers": "2026.9.21.13",
}
"""hatchling (pyproject's build backend) and its requirements, for ``pip install .`` in the build stage."""


def canonical(name: str) -> str:
    """A distribution's name as pip compares names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_pins(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Every package the project's dependencies need, transitively, with its installed version.

    Raises:
        LookupError: a needed package is not installed here.
    """
    environment = {**default_environment(), "extra": ""}
    todo = [
        Requirement(text) for text in tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    ]
    pins: dict[str, str] = {}
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = canonical(requirement.name)
        if name in pins:
            continue
        try:
            found = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError as exc:
            raise LookupError(f"{requirement.name} is needed ({requirement}) but not installed here") from exc
        pins[name] = found.version
        todo.extend(Requirement(text) for text in found.requires or ())
    return dict(sorted(pins.items()))


def render(runtime: dict[str, str]) -> str:
    lines = [
        "# Exact versions the image installs (PIP_CONSTRAINT in the Dockerfile). Made by docker/lock.py",
        "# from the venv the tests pass in; tests/service/test_container.py checks it covers every dependency.",
        "",
        "# runtime: pyproject.toml's dependencies and everything they need",
        *(f"{name}=={version}" for name, version in runtime.items()),
        "",
        "# build: pyproject.toml's build backend",
        *(f"{name}=={version}" for name, version in sorted(BUILD_PINS.items()) if name not in runtime),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(runtime_pins()))
