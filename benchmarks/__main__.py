"""``python -m benchmarks [NAME ...] [--quick]``: run every ``bench_*`` module, or the ones named.

Each module has ``main(quick: bool) -> None`` and prints its figures as a ratio against a
baseline measured in the same run, because absolute times drift on shared machines.
``--quick`` shrinks the sizes for a smoke run; quote only full runs.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="bench module names without the bench_ prefix")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--n", type=int, default=None, help="messages, for the benchmarks that take a count (e2e)")
    parser.add_argument(
        "--stored", type=int, default=None, help="messages stored beforehand, for the benchmarks that take it (e2e)"
    )
    parser.add_argument(
        "--memory", action="store_true", help="the service's memory after --n messages (e2e; 100,000 by default)"
    )
    args = parser.parse_args()
    here = Path(__file__).parent
    available = sorted(
        m.name[len("bench_") :] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )
    chosen = args.names or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        wanted = inspect.signature(module.main).parameters
        extra = {key: getattr(args, key) for key in ("n", "stored", "memory") if key in wanted}
        module.main(quick=args.quick, **extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
