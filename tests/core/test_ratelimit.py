"""The fixed-window start limiter. # spec: restart-and-failure.md §5.2"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.ratelimit import StartLimit

SEC = 1_000_000


def test_spec_example_fixed_window():
    lim = StartLimit(10 * SEC, 5)
    assert [lim.below(t * SEC) for t in range(5)] == [True] * 5
    assert not lim.below(5 * SEC)
    assert not lim.below(10 * SEC)  # now - begin == interval: still refused (strictly greater)
    assert (lim.begin, lim.num) == (0, 5)  # refusals neither count nor extend
    assert lim.below(10 * SEC + 1)
    assert (lim.begin, lim.num) == (10 * SEC + 1, 1)


def test_disabled_by_zero_interval_or_burst():
    assert all(StartLimit(0, 5).below(t) for t in range(100))
    assert all(StartLimit(SEC, 0).below(t) for t in range(100))


def test_reset():
    lim = StartLimit(SEC, 1)
    assert lim.below(5) and not lim.below(6)
    lim.reset()
    assert lim.below(7)


@given(
    interval=st.integers(1, 50),
    burst=st.integers(1, 6),
    gaps=st.lists(st.integers(0, 20), min_size=1, max_size=80),
)
def test_never_more_than_burst_per_window(interval, burst, gaps):
    lim = StartLimit(interval, burst)
    now, accepted = 0, []
    for gap in gaps:
        now += gap
        if lim.below(now):
            accepted.append(now)
    # fixed windows: each opens at the first accepted start after the previous one
    # expired, lasts `interval`, and holds at most `burst` accepted starts
    window_start, count = None, 0
    for t in accepted:
        if window_start is None or t - window_start > interval:
            window_start, count = t, 0
        count += 1
        assert count <= burst
    # (a sliding window can see up to 2*burst: the limiter is not sliding)
    for i, start in enumerate(accepted):
        assert len([t for t in accepted[i:] if t - start <= interval]) <= 2 * burst
    # and it is a fixed window: a refusal only happens with `burst` starts in the window
    lim2, now = StartLimit(interval, burst), 0
    for gap in gaps:
        now += gap
        before = (lim2.begin, lim2.num)
        ok = lim2.below(now)
        if not ok:
            assert before[1] == burst and now - before[0] <= interval
