"""`systemctl status --timestamp=us+utc` against systemd 257, second recording.

Covers what the first recording could not: condition/assert lines (units kept referenced so
they are not garbage-collected), `Cntrl PID:`, reloading, core dumps, a timer's monotonic
`Trigger:`, `TriggeredBy:`, and exact sub-second stamps (`Until:`). Conditions/asserts and
process names are not in `show` output, so they are taken from the status text.
"""

from __future__ import annotations

import pytest
from render_snapshot import (
    ORACLE2_FILE,
    fix_realtime_from_monotonic,
    load_oracle,
    normalize,
    parse_show,
    snapshot_now,
    split_status,
    status_extras,
)

from sysvisor.cli.render import render_status, status_exit_code

ORACLE = load_oracle(ORACLE2_FILE)
LABELS = sorted(k[: -len(":status-us")] for k in ORACLE if k.endswith(":status-us"))
STATES = {"freq.timer": "active"}


@pytest.mark.parametrize("label", LABELS)
def test_status_us_matches_systemd(label: str) -> None:
    status = ORACLE[label + ":status-us"]
    props = parse_show(ORACLE[label + ":show-us"]["stdout"])
    # stamps are µs-exact here: only learn realtime - monotonic, keep the stamps
    offset = fix_realtime_from_monotonic(dict(props))
    props.update(status_extras(status["stdout"]))
    _head, journal = split_status(status["stdout"])
    now = snapshot_now(props)
    got = render_status(
        props, journal, now, now_monotonic_usec=now - offset, timestamp_style="us+utc", unit_states=STATES
    )
    assert normalize(got) == normalize(status["stdout"])
    assert status_exit_code(props) == status["rc"]


@pytest.mark.parametrize("label", LABELS)
def test_status_colors_match_systemd(label: str) -> None:
    status = ORACLE[label + ":status-color"]
    props = parse_show(ORACLE[label + ":show-us"]["stdout"])
    offset = fix_realtime_from_monotonic(dict(props))
    props.update(status_extras(status["stdout"]))
    _head, journal = split_status(status["stdout"])  # journal colours are the journal's business
    now = snapshot_now(props)
    got = render_status(
        props, journal, now, now_monotonic_usec=now - offset, unit_states=STATES, color=True, urlify_host="oracle"
    )
    assert normalize(got) == normalize(status["stdout"])
