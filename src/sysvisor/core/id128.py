"""128-bit IDs as systemd prints them (invocation, boot and stream IDs): v4 UUIDs as 32
lower-case hex digits, `uuid.UUID(int=n, version=4).hex`. # systemd: sd_id128_randomize()"""

from __future__ import annotations


def format_v4(n: int) -> str:
    """128 bits `n` with the v4 version and RFC 4122 variant bits set, as 32 hex digits."""
    n = (n & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    return f"{n:032x}"
