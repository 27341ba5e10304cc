"""Mutation testing: mutate each module in a scratch copy of the repository and judge it by its own tests.

Usage: ``python mutation/run.py [--jobs N] [--show-killed] [MODULE ...]`` (default: every module in
mutation/config.toml). It prints, per module, the mutants, how many its tests killed, the survivors
judged equivalent (listed in the config with the reason) and the score, then every other survivor
with its diff. The mutations themselves are cosmic-ray's (``cosmic_ray.mutating``), restricted to the
operators the config names, plus two that cosmic-ray lacks: ``return x`` → ``return None`` and a
deleted statement (replaced by ``pass``). The working tree is never touched: each module is mutated
in its own copy, so modules can run in parallel without one module's mutant failing another's tests.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "config.toml"
# not copied into the scratch tree (top level only)
SKIP_AT_ROOT = {".git", ".venv", "mutants", "data", "dist", "build", "node_modules"}
SKIP_ANYWHERE = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis")


@dataclass
class Survivor:
    """A mutant its tests did not kill."""

    line: int
    operator: str
    original: str
    mutant: str
    diff: str
    why_equivalent: str | None = None


@dataclass
class Outcome:
    """What happened to one module's mutants."""

    module: str
    mutants: int = 0
    killed: int = 0
    survivors: list[Survivor] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def equivalent(self) -> int:
        return sum(1 for s in self.survivors if s.why_equivalent is not None)

    @property
    def score(self) -> float:
        """Killed mutants as a share of those a test could kill (all but the equivalent ones)."""
        judged = self.mutants - self.equivalent
        return 1.0 if judged == 0 else self.killed / judged


_CORE: dict[str, Any] = {}


def _operators(patterns: list[str]) -> None:
    """Restrict cosmic-ray's operators to ``patterns`` and add this runner's two."""
    import cosmic_ray.plugins
    import parso.python.tree as tree
    from cosmic_ray.operators.operator import Example, Operator

    def in_function(node: Any) -> bool:
        parent = node.parent
        while parent is not None:
            if parent.type in ("funcdef", "lambdef"):
                return True
            parent = parent.parent
        return False

    def is_call(node: Any) -> bool:
        last = node.children[-1]
        return bool(last.type == "trailer" and last.children[0].value == "(")

    class DeleteStatement(Operator):  # type: ignore[misc]
        """Replace an assignment, a call, a ``del`` or a ``raise`` inside a function with ``pass``."""

        def mutation_positions(self, node: Any) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
            if node.parent is None or node.parent.type != "simple_stmt" or not in_function(node):
                return
            if node.type in ("expr_stmt", "del_stmt", "raise_stmt") or (node.type == "atom_expr" and is_call(node)):
                yield node.start_pos, node.end_pos

        def mutate(self, node: Any, index: int) -> Any:
            return tree.Keyword("pass", node.start_pos, prefix=node.get_first_leaf().prefix)

        @classmethod
        def examples(cls) -> tuple[Any, ...]:
            return (Example("def f():\n    x = 1\n", "def f():\n    pass\n"),)

    class ReturnNone(Operator):  # type: ignore[misc]
        """Replace ``return x`` with ``return None``."""

        def mutation_positions(self, node: Any) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
            if node.type == "return_stmt" and len(node.children) == 2:
                value = node.children[1]
                if not (value.type == "keyword" and value.value == "None"):
                    yield node.start_pos, node.end_pos

        def mutate(self, node: Any, index: int) -> Any:
            value = node.children[1]
            node.children[1] = tree.Keyword("None", value.start_pos, prefix=value.get_first_leaf().prefix)
            return node

        @classmethod
        def examples(cls) -> tuple[Any, ...]:
            return (Example("def f():\n    return 1\n", "def f():\n    return None\n"),)

    chosen = re.compile("|".join(f"(?:{p})" for p in patterns))
    # kept across calls: a worker process may mutate several modules
    core = _CORE.setdefault("core", cosmic_ray.plugins.OPERATOR_PROVIDERS["core"])
    kept = {name: core[name] for name in core if chosen.fullmatch(f"core/{name}")}
    ours = {"ReturnNone": ReturnNone, "DeleteStatement": DeleteStatement}
    cosmic_ray.plugins.OPERATOR_PROVIDERS.clear()
    cosmic_ray.plugins.OPERATOR_PROVIDERS.update(
        {"core": kept, "being": {n: op for n, op in ours.items() if chosen.fullmatch(f"being/{n}")}}
    )


def _copy_tree(into: Path) -> Path:
    repo = into / "repo"

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(SKIP_ANYWHERE(folder, names))
        if Path(folder).resolve() == ROOT:
            skipped |= SKIP_AT_ROOT & set(names)
        return skipped

    shutil.copytree(ROOT, repo, ignore=ignore, symlinks=True)
    return repo


def _in_signature_syntax(module: Any, position: tuple[int, int]) -> bool:
    """True for a place no test can reach: inside a type annotation, or the ``*`` that starts keyword-only parameters.

    Annotations are never evaluated here (``from __future__ import annotations``), so
    ``int | None`` → ``int & None`` changes nothing; cosmic-ray counts the bare ``*`` as a
    multiplication and turns it into ``/``.
    """
    leaf = module.get_leaf_for_position(position)
    if leaf is None:
        return False
    if leaf.value == "*" and leaf.parent is not None and leaf.parent.type in ("param", "parameters"):
        return True
    node = leaf
    while node.parent is not None:
        parent = node.parent
        if parent.type == "funcdef" and parent.annotation is node:
            return True
        if parent.type == "tfpdef" and parent.children[-1] is node:
            return True
        if parent.type == "annassign" and parent.children[1] is node:
            return True
        node = parent
    return False


def _changed_lines(diff: str) -> tuple[str, str]:
    before = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    after = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return " / ".join(before), " / ".join(after)


def mutate_module(
    module: str, tests: list[str], settings: dict[str, Any], equivalents: list[dict[str, str]]
) -> Outcome:
    """Mutate ``module`` in a scratch copy and run ``tests`` against each mutant."""
    import parso
    from cosmic_ray.commands import init
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    started = time.monotonic()
    outcome = Outcome(module)
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        repo = _copy_tree(Path(scratch))
        os.chdir(repo)
        # the copy, not the working tree (nor an editable install), is what the tests import
        os.environ["PYTHONPATH"] = str(repo)
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        t0 = time.monotonic()
        baseline = subprocess.run(command, capture_output=True, text=True, check=False)
        if baseline.returncode != 0:
            outcome.error = f"the tests fail before any mutation:\n{baseline.stdout[-2000:]}"
            return outcome
        timeout = max(settings["min_timeout_s"], settings["timeout_factor"] * (time.monotonic() - t0))
        _operators(settings["operators"])
        with use_db(str(Path(scratch) / "session.sqlite"), WorkDB.Mode.create) as db:
            init([Path(module)], db, {})
            tree = parso.parse(Path(module).read_text(encoding="utf-8"))
            for item in list(db.pending_work_items):
                if _in_signature_syntax(tree, item.mutations[0].start_pos):
                    continue
                result = mutate_and_test(mutations=item.mutations, test_command=" ".join(command), timeout=timeout)
                if result.worker_outcome in (WorkerOutcome.NO_TEST, WorkerOutcome.SKIPPED):
                    continue
                outcome.mutants += 1
                if result.test_outcome is not TestOutcome.SURVIVED:  # killed, or does not even import
                    outcome.killed += 1
                    continue
                spec = item.mutations[0]
                original, mutant = _changed_lines(result.diff or "")
                why = next(
                    (
                        e["why"]
                        for e in equivalents
                        if e["module"] == module and e["original"] == original and e["mutant"] == mutant
                    ),
                    None,
                )
                outcome.survivors.append(
                    Survivor(spec.start_pos[0], spec.operator_name, original, mutant, result.diff or "", why)
                )
    outcome.survivors.sort(key=lambda s: (s.line, s.operator))
    outcome.seconds = time.monotonic() - started
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Run the modules asked for (all in the config by default) and print the scores; 1 if any mutant survives."""
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    modules: dict[str, list[str]] = config["modules"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (paths as in mutation/config.toml)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="modules mutated at once")
    parser.add_argument("--diffs", action="store_true", help="print each survivor's whole diff")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in modules]
    if unknown:
        parser.error(f"not in {CONFIG.name}: {', '.join(unknown)}")
    chosen = args.modules or list(modules)
    equivalents = config.get("equivalent", [])
    outcomes: list[Outcome] = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(mutate_module, m, modules[m], config["run"], equivalents) for m in chosen]
        for future in as_completed(futures):
            done = future.result()
            outcomes.append(done)
            print(f"{done.module}: {done.killed}/{done.mutants} killed in {done.seconds:.0f} s", file=sys.stderr)
    outcomes.sort(key=lambda o: chosen.index(o.module))
    print(f"{'module':<32} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'score':>7}")
    for o in outcomes:
        if o.error is not None:
            print(f"{o.module:<32} ERROR {o.error}")
            continue
        print(f"{o.module:<32} {o.mutants:>7} {o.killed:>7} {o.equivalent:>7} {o.score:>7.1%}")
    total = sum(o.mutants for o in outcomes)
    killed = sum(o.killed for o in outcomes)
    equivalent = sum(o.equivalent for o in outcomes)
    judged = total - equivalent
    print(f"{'all':<32} {total:>7} {killed:>7} {equivalent:>7} {killed / judged if judged else 1.0:>7.1%}")
    alive = [(o.module, s) for o in outcomes for s in o.survivors if s.why_equivalent is None]
    for module, s in alive:
        print(f"\nsurvived {module}:{s.line} {s.operator}\n  - {s.original}\n  + {s.mutant}")
        if args.diffs:
            print(s.diff)
    return 1 if alive or any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
