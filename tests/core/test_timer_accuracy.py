"""sd-event's wake-up rule and the FixedRandomDelay= hash. # spec: timers.md §4"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.timer_accuracy import (
    USEC_PER_MINUTE,
    perturb_from_id128,
    sleep_between,
    wakeup_time,
)
from sysvisor.core.timer_delay import fixed_delay_hash, machine_id_bytes, siphash24
from sysvisor.core.types import USEC_INFINITY

SEC = 1_000_000


def test_siphash24_reference_vector():
    # the SipHash paper's test vector (also systemd's test-siphash24.c): key 00..0f, data 00..0e
    assert siphash24(bytes(range(15)), bytes(range(16))) == 0xA129CA6149BE45E5


def test_fixed_delay_hash_of_the_oracle_machine():
    # systemd 257 logged "Adding 8min 19.431536s random time." for RandomizedDelaySec=1h
    h = fixed_delay_hash(machine_id_bytes("00ac1e00000000000000000000000001"), True, 0, "fixed.timer")
    assert h % (3600 * SEC) == 499_431_536


def test_machine_id_must_be_128_bits():
    with pytest.raises(ValueError, match="Invalid machine ID"):
        machine_id_bytes("abc")


def test_perturb_from_boot_id():
    boot = uuid.UUID("01c5d73e-1958-4c20-bfde-4cdf895f163a").bytes
    assert perturb_from_id128(boot) == 51_809_214
    with pytest.raises(ValueError):
        perturb_from_id128(b"short")


def test_precise_window_wakes_at_its_start():
    assert sleep_between(5 * SEC, 5 * SEC + 1, 17) == 5 * SEC
    assert sleep_between(0, SEC, 17) == 0
    assert sleep_between(USEC_INFINITY, USEC_INFINITY, 17) == USEC_INFINITY


def test_alignment_steps():
    p = 25_654_607  # 25.654607 s into each minute
    # a whole minute of window: the minute point
    assert sleep_between(100 * SEC, 160 * SEC, p) == 145_654_607
    # 10 s of window: the 10 s point (p % 10 s = 5.654607 s)
    assert sleep_between(100 * SEC, 110 * SEC, p) == 105_654_607
    # 1 s: the 1 s point (0.654607 s)
    assert sleep_between(100 * SEC, 101 * SEC, p) == 100_654_607
    # 250 ms: the 250 ms point (p % 250 ms = 154607 µs) ...
    assert sleep_between(100 * SEC, 100 * SEC + 250_000, p) == 100_154_607
    # ... and below that the window's end
    assert sleep_between(100 * SEC, 100 * SEC + 100_000, p) == 100 * SEC + 100_000


@given(a=st.integers(1, 10**13), width=st.integers(0, 10 * USEC_PER_MINUTE), p=st.integers(0, USEC_PER_MINUTE - 1))
def test_wake_up_lies_in_the_window(a, width, p):
    c = sleep_between(a, a + width, p)
    assert a <= c <= a + width


def test_wakeup_time_coalesces():
    p = 11_224_607
    lax = (3568_388_378, 3568_388_378 + USEC_PER_MINUTE)
    strict = (3586_463_838, 3586_463_839)
    # observed with systemd 257 (tests/data/oracle/timer/accuracy-coalesce.json): 3581228879
    assert wakeup_time([lax, strict], p) == 3581_224_607
    assert wakeup_time([], p) is None
