"""systemd's notify protocol, the few lines of it the service needs (``Type=notify``, ``WatchdogSec=``).

systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket) and, with a
watchdog, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``. Each notification is one datagram of
``KEY=value`` lines: ``READY=1`` once the pipeline is subscribed, ``STOPPING=1`` at the first
signal, ``WATCHDOG=1`` at half the watchdog interval while the process is alive, and
``STATUS=...`` for ``systemctl status``. Without ``NOTIFY_SOCKET`` every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["SystemdNotifier"]

log = logging.getLogger("service")


class SystemdNotifier:
    """Sends notifications to the socket systemd named in the environment.

    Args:
        env: the process's environment (``os.environ`` by default).
    """

    __slots__ = ("_address", "_watchdog_s")

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        environ = os.environ if env is None else env
        path = environ.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        if path.startswith("@"):
            self._address = b"\0" + path[1:].encode()  # Linux's abstract namespace
        elif path.startswith("/"):
            self._address = path
        self._watchdog_s = _watchdog_interval_s(environ)

    @property
    def enabled(self) -> bool:
        """True when systemd is listening (``NOTIFY_SOCKET`` is set)."""
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send ``WATCHDOG=1`` (half of ``WATCHDOG_USEC``), or ``None`` without a watchdog for us."""
        return self._watchdog_s if self.enabled else None

    def notify(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines in one datagram (``notify(READY="1", STATUS="...")``); True when sent.

        A failure to send is logged and returned, never raised: systemd going away must not stop the service.
        """
        if self._address is None:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message)
        except OSError as exc:
            log.warning("systemd.notify_failed", extra={"fields": sorted(fields), "error": str(exc)})
            return False
        return True


def _watchdog_interval_s(env: Mapping[str, str]) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None  # the watchdog is meant for another process (a parent that exec'd us without clearing it)
    return int(usec) / 1_000_000 / 2
