"""``[checks]`` and ``[health]``: the start's checks and what readiness and liveness call a problem."""

from __future__ import annotations

from dataclasses import dataclass

from service.settings._fields import setting

__all__ = ["CheckSettings", "HealthSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSettings:
    """``[checks]``: thresholds and time limits of the checks ``being check`` and ``being run`` make."""

    disk_critical_free_mb: int = setting(
        100, help="less free space than this on the data folder's disk stops the start (and fails /readyz)", min=0
    )
    disk_warning_free_mb: int = setting(
        1024, help="less free space than this is a warning at start (and degrades /readyz)", min=0
    )
    remote_timeout_s: float = setting(
        2.0,
        help="the LLM and Redis checks give up after this long (each request)",
        min=0.0,
        min_exclusive=True,
        max=60.0,
    )

    def __post_init__(self) -> None:
        if self.disk_warning_free_mb < self.disk_critical_free_mb:
            raise ValueError(
                f"disk_warning_free_mb ({self.disk_warning_free_mb}) must be at least "
                f"disk_critical_free_mb ({self.disk_critical_free_mb})"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthSettings:
    """``[health]``: when /healthz calls the process stuck and /readyz a component degraded."""

    loop_lag_limit_s: float = setting(
        5.0, help="/healthz fails while the event loop runs this late (measured every loop_probe_interval_s)", min=0.01
    )
    loop_probe_interval_s: float = setting(0.5, help="how often the event loop's lag is measured", min=0.01, max=60.0)
    llm_stuck_after_s: float = setting(
        10.0,
        help="an LLM call in flight this long without an answer degrades /readyz (0: llm.first_byte_timeout_s)",
        min=0.0,
    )
    cache_probe_interval_s: float = setting(
        5.0, help="how often the cache's shared store (Redis) is asked for a probe key", min=0.1, max=3600.0
    )
    inbox_stalled_after_s: float = setting(
        300.0, help="a message read and unanswered for this long degrades /readyz", min=1.0
    )
