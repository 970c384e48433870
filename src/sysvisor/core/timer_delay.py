"""RandomizedDelaySec=: the random part of a timer's elapse, drawn or fixed.

* FixedRandomDelay=no: each computation of the next elapse draws `random_u64() % delay`
  from an injected generator (the shell seeds it; tests use fixed seeds).
* FixedRandomDelay=yes: the delay is `siphash24(machine ID ‖ is-system-manager ‖ uid ‖ unit
  name) % delay` with timer.c's fixed key, so it is stable across restarts and equals real
  systemd's on a machine with the same ID (checked with systemd-oracle: tests/data/oracle/timer).

Pure: the generator and the machine ID come in from outside.
# spec: timers.md §1 FixedRandomDelay=, §4   # systemd: timer.c timer_get_fixed_delay_hash()
"""

from __future__ import annotations

_M64 = (1 << 64) - 1
# systemd: timer.c timer_get_fixed_delay_hash() hash_key[]
FIXED_DELAY_HASH_KEY = bytes((0x51, 0x0A, 0xDB, 0x76, 0x29, 0x51, 0x42, 0xC2,
                              0x80, 0x35, 0xEA, 0xE6, 0x8E, 0x3A, 0x37, 0xBD))


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def siphash24(data: bytes, key: bytes) -> int:
    """SipHash-2-4 of `data` with a 16-byte key, as a 64-bit integer.
    # systemd: src/basic/siphash24.c (reference test vector in tests)"""
    if len(key) != 16:
        raise ValueError("siphash24 needs a 16-byte key")
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:], "little")
    v0 = 0x736F6D6570736575 ^ k0
    v1 = 0x646F72616E646F6D ^ k1
    v2 = 0x6C7967656E657261 ^ k0
    v3 = 0x7465646279746573 ^ k1

    def rounds(n: int) -> None:
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & _M64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _M64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _M64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _M64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    n = len(data)
    end = n - n % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v3 ^= m
        rounds(2)
        v0 ^= m
    last = ((n & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    v3 ^= last
    rounds(2)
    v0 ^= last
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


def fixed_delay_hash(machine_id: bytes, system_manager: bool, uid: int, unit_name: str) -> int:
    """The 64-bit hash FixedRandomDelay= takes modulo RandomizedDelaySec=.

    `machine_id` is the 16 bytes of /etc/machine-id (all zero when unknown, as systemd
    does). # systemd: timer.c timer_get_fixed_delay_hash()
    """
    if len(machine_id) != 16:
        raise ValueError(f"a machine ID has 16 bytes, not {len(machine_id)}")
    data = (machine_id + bytes((1 if system_manager else 0,))
            + (uid & 0xFFFFFFFF).to_bytes(4, "little") + unit_name.encode())
    return siphash24(data, FIXED_DELAY_HASH_KEY)


def machine_id_bytes(text: str) -> bytes:
    """/etc/machine-id (32 hex digits, dashes allowed) → 16 bytes; ValueError if malformed."""
    s = text.strip().replace("-", "")
    if len(s) != 32:
        raise ValueError(f"Invalid machine ID: {text.strip()!r}")
    return bytes.fromhex(s)
