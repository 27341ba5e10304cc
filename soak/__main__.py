"""``python -m soak [NAME ...] [--quick]`` (``make soak``): the long fault runs, then a summary table.

Names: kills, sigterms, down, hung, chaos, inbox (all by default). ``--quick`` runs each at a
fraction of its size, for a smoke run. Exit 1 when any scenario lost, repeated or left
unanswered a message, or failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from soak._scenarios import SCENARIOS
from soak._tally import Tally, render


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m soak")
    parser.add_argument("names", nargs="*", help=f"scenarios to run: {', '.join(SCENARIOS)} (all by default)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    chosen = args.names or list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; expected some of {list(SCENARIOS)}")
    tallies: list[Tally] = []
    with tempfile.TemporaryDirectory(prefix="being-soak-") as top:
        for name in chosen:
            print(f"== {name} ...", flush=True)
            folder = Path(top) / name
            folder.mkdir()
            result = SCENARIOS[name](folder, args.quick)
            done = result if isinstance(result, list) else [result]
            for tally in done:
                print(f"   {tally.scenario}: {tally.seconds:.1f} s, {'ok' if tally.clean else 'NOT CLEAN'}", flush=True)
            tallies.extend(done)
    print()
    print(render(tallies))
    return 0 if all(t.clean for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(main())
