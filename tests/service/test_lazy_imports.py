"""Clients of servers the default settings do not use are not loaded: their memory is not paid for nothing."""

from __future__ import annotations

import json
import subprocess
import sys

_CODE = """
import json, sys
import runtime, service.checks
from service._llm_parts import _limit_store, _shared_store
from service.settings import Settings
settings = Settings()
stores = [_shared_store(settings), _limit_store(settings)]
print(json.dumps({"stores": [s is not None for s in stores], "loaded": sorted(
    m for m in ("redis", "aiocache") if m in sys.modules)}))
"""


def test_redis_and_aiocache_load_only_when_the_settings_name_a_store() -> None:
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == {"stores": [False, False], "loaded": []}
