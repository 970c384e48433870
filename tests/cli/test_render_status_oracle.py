"""`systemctl status` text, differential against systemd 257 (tests/data/golden/oracle).

The snapshot is parsed from the `show` output recorded right after each `status`; rendered
by sysvisor it must give systemd's status text, apart from relative times (the two commands
ran at different moments) and what `show` cannot carry (process names, the cgroup's
processes, the journal lines: taken from the status text itself).
"""

from __future__ import annotations

import pytest
from render_snapshot import (
    fix_realtime_from_monotonic,
    load_oracle,
    normalize,
    parse_show,
    snapshot_now,
    split_status,
    status_extras,
)

from sysvisor.cli.render import render_status, status_exit_code

ORACLE = load_oracle()
LABELS = sorted(
    k[: -len(":status")]
    for k in ORACLE
    if k.endswith(":status") and ORACLE[k]["stdout"] and k[: -len(":status")] + ":show" in ORACLE
)
# The Until: line needs sub-second stamps that `show` (second precision) does not give.
IMPRECISE = {"active-running-notify"}


@pytest.mark.parametrize("label", LABELS)
def test_status_matches_systemd(label: str) -> None:
    status = ORACLE[label + ":status"]
    props = parse_show(ORACLE[label + ":show"]["stdout"])
    offset = fix_realtime_from_monotonic(props)
    props.update(status_extras(status["stdout"]))
    _head, journal = split_status(status["stdout"])
    now = snapshot_now(props)
    got = render_status(props, journal, now, now_monotonic_usec=now - offset)
    want = status["stdout"]
    if label in IMPRECISE:
        got, want = (t.replace("07:58:47", "07:58:4x").replace("07:58:48", "07:58:4x") for t in (got, want))
    assert normalize(got) == normalize(want)
    assert status_exit_code(props) == status["rc"]
