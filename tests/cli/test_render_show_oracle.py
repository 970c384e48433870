"""`systemctl show` text, differential against systemd 257 (tests/data/golden/oracle).

Each recorded `show` output is parsed back into a raw snapshot and re-printed by
`format_show`; the result must be byte-identical to what systemd printed.
"""

from __future__ import annotations

import pytest
from render_snapshot import load_oracle, parse_show

from sysvisor.protocol.properties import format_show

ORACLE = load_oracle()
SHOW_LABELS = sorted(k for k in ORACLE if k.endswith(":show") or k.endswith(":show-all"))


@pytest.mark.parametrize("label", SHOW_LABELS)
def test_show_roundtrip_matches_systemd(label: str) -> None:
    text = ORACLE[label]["stdout"]
    props = parse_show(text)
    assert format_show(props, all_=label.endswith(":show-all")) == text
