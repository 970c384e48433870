"""`systemctl show` text, differential against systemd 257 (tests/data/golden/oracle).

Each recorded `show` output is parsed back into a raw snapshot and re-printed by
`format_show`; the result must be byte-identical to what systemd printed.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from render_snapshot import load_oracle, parse_show

from sysvisor.protocol.properties import format_show

ORACLE = load_oracle()
SHOW_LABELS = sorted(k for k in ORACLE if k.endswith(":show") or k.endswith(":show-all"))


@pytest.mark.parametrize("label", SHOW_LABELS)
def test_show_roundtrip_matches_systemd(label: str) -> None:
    text = ORACLE[label]["stdout"]
    props = parse_show(text)
    assert format_show(props, all_=label.endswith(":show-all")) == text


def test_exec_value_only() -> None:
    from render_snapshot import ORACLE2_FILE

    o = load_oracle(ORACLE2_FILE)
    props = parse_show(o["active-running:show-us"]["stdout"])
    # that recording prints stamps with µs; the --value one was taken without --timestamp
    for c in props["ExecStart"]:
        c["start_time"] -= c["start_time"] % 1_000_000
    assert format_show(props, ["ExecStart"], value_only=True) == o["show-exec-value"]["stdout"].replace("pid=79", f"pid={props['ExecStart'][0]['pid']}")
    assert format_show({"Id": "web.service", "Description": "Example web server"}, ["Description"], True) == o["show-P"]["stdout"]


_KINDS = {
    "Id": st.text(alphabet="abc -:", max_size=6),
    "Description": st.text(alphabet="abc -:", max_size=6),
    "Restart": st.sampled_from(["no", "always", ""]),
    "RestartUSec": st.integers(min_value=0, max_value=2**40),
    "Wants": st.lists(st.text(alphabet="ab.()", max_size=4), max_size=3),
    "MainPID": st.integers(min_value=0, max_value=99999),
    "RemainAfterExit": st.booleans(),
    "ExecMainStartTimestamp": st.integers(min_value=0, max_value=2**52),
    "StatusText": st.text(alphabet="abc -:", max_size=6),
    "FailureActionExitStatus": st.integers(min_value=-1, max_value=255),
}


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=60)
@given(st.fixed_dictionaries({}, optional=_KINDS))
def test_show_omits_exactly_the_empty_values(props: dict) -> None:
    text = format_show(props)
    full = format_show(props, all_=True)
    shown = [line.partition("=")[0] for line in text.splitlines()]
    every = [line.partition("=")[0] for line in full.splitlines()]
    assert sorted(every) == sorted(props)  # --all prints every property once
    assert all(not line.endswith("=") for line in text.splitlines())
    assert [n for n in every if n in shown] == shown  # same order, empties dropped
    assert format_show(props, list(props)) == full  # -p shows requested ones even when empty
