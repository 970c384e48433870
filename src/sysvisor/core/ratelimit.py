"""The start rate limiter: a fixed window, exactly as systemd's ratelimit.c.

The window opens at the first counted start after the previous window expired and lasts
`interval`; it does not slide, and refused attempts neither count nor extend it.
# spec: restart-and-failure.md §5.2   # systemd: src/basic/ratelimit.c ratelimit_below()
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StartLimit:
    """StartLimitIntervalSec=/StartLimitBurst= state of one unit.

    `begin` None = unset (systemd uses 0; a virtual clock may legitimately read 0).
    """

    interval_usec: int
    burst: int
    begin: int | None = None
    num: int = 0

    @property
    def enabled(self) -> bool:
        return self.interval_usec > 0 and self.burst > 0

    def below(self, now: int) -> bool:
        """Count one start attempt at `now`; False if it is refused.
        # systemd: ratelimit_below()"""
        if not self.enabled:
            return True
        if self.begin is None or now - self.begin > self.interval_usec:  # strictly greater
            self.begin = now
            self.num = 1
            return True
        if self.num < self.burst:
            self.num += 1
            return True
        return False

    def reset(self) -> None:
        """`reset-failed`. # systemd: ratelimit_reset()"""
        self.begin = None
        self.num = 0
