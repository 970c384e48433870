"""Random 128-bit IDs for the shell and the journal relay, in `uuid.uuid4().hex`'s format
without importing `uuid` (which pulls in `platform`: ~11 ms of the manager's and the relay's
start-up). The engine draws its own from its seeded generator (core/id128.py)."""

from __future__ import annotations

import os

from sysvisor.core.id128 import format_v4


def random_id128() -> str:
    """A fresh random ID from the kernel's random pool. # systemd: sd_id128_randomize()"""
    return format_v4(int.from_bytes(os.urandom(16), "big"))
