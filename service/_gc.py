"""What a started service holds is set aside from the cyclic garbage collector's full passes.

A full collection walks every tracked object alive: the libraries' modules, the settings, the
being's memory seeded at start (up to ``memory`` recall texts), the wired pipeline. Those live as
long as the process, so once the service has started they are collected once and frozen
(``gc.freeze``): later full passes walk only what the service made since. The replay does the
same around its drive (``service/replay/_run.py``).
"""

from __future__ import annotations

import gc

__all__ = ["freeze_started", "thaw"]


def freeze_started() -> int:
    """Collect what the start left unreachable, then freeze what is alive; returns the objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw() -> None:
    """Give the frozen objects back to the collector (at the stop: an in-process run leaves no cycle behind)."""
    gc.unfreeze()
