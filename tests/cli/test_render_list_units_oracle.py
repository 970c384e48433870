"""`systemctl list-units` text, differential against systemd 257."""

from __future__ import annotations

import re

import pytest
from render_snapshot import load_oracle

from sysvisor.cli.listing import render_list_units

ORACLE = load_oracle()
CASES = {
    "list-units": {},
    "list-units-all": {"all_": True},
    "list-units-failed": {"states_filter": ["failed"]},
    "list-units-plain": {"plain": True},
    "list-units-empty": {},
}


def rows_from(text: str, plain: bool) -> list[dict[str, str]]:
    lines = text.split("\n\n")[0].splitlines()
    header = lines[0]
    cols = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = {}
        for i, name in enumerate(names):
            end = cols[i + 1] if i + 1 < len(names) else None
            cells[name] = line[cols[i] : end].strip()
        rows.append(
            {
                "Id": cells["UNIT"],
                "LoadState": cells["LOAD"],
                "ActiveState": cells["ACTIVE"],
                "SubState": cells["SUB"],
                "Job": cells.get("JOB", ""),
                "Description": cells["DESCRIPTION"],
            }
        )
    return rows


@pytest.mark.parametrize("label", sorted(CASES))
def test_list_units_matches_systemd(label: str) -> None:
    text = ORACLE[label]["stdout"]
    kwargs = CASES[label]
    rows = rows_from(text, kwargs.get("plain", False))
    # systemd's order is recomputed, not copied
    rows.reverse()
    assert render_list_units(rows, **kwargs) == text


def test_no_legend_drops_header_and_footer() -> None:
    rows = [{"Id": "a.service", "LoadState": "loaded", "ActiveState": "failed", "SubState": "failed", "Description": "A"}]
    assert render_list_units(rows, legend=False) == "● a.service loaded failed failed A\n"


def test_list_units_colors_match_systemd() -> None:
    from render_snapshot import ORACLE2_FILE

    step = load_oracle(ORACLE2_FILE)["list-units-color"]
    text = step["stdout"]
    plain_text = re.sub(r"\x1b\[[0-9;:]*m", "", text)
    rows = rows_from(plain_text, False)
    assert render_list_units(rows, all_=True, color=True) == text


def test_select_units_matches_systemds_choice() -> None:
    from sysvisor.cli.listing import select_units

    everything = rows_from(ORACLE["list-units-all"]["stdout"], False)
    for r in everything:
        r["JobType"] = r.pop("Job")

    def ids(rows: list) -> list[str]:
        return sorted(r["Id"] for r in rows)

    assert ids(select_units(everything)) == ids(rows_from(ORACLE["list-units"]["stdout"], False))
    assert ids(select_units(everything, states=["failed"])) == ids(rows_from(ORACLE["list-units-failed"]["stdout"], False))
    assert ids(select_units(everything, types=["service"])) == ids(rows_from(ORACLE["list-units-plain"]["stdout"], True))
    assert select_units(everything, ["nomatch*"]) == []
    assert ids(select_units(everything, ["*.timer"], all_=True)) == ["timer-x.timer"]


def test_state_filter_footer() -> None:
    from render_snapshot import ORACLE2_FILE

    text = load_oracle(ORACLE2_FILE)["list-units-state-inactive"]["stdout"]
    rows = rows_from(text, False)
    assert render_list_units(rows, states_filter=["inactive"]) == text


def test_list_units_colors_with_type_groups() -> None:
    from render_snapshot import GOLDEN

    o = load_oracle(GOLDEN / "oracle" / "render7-257.json")
    for label, kwargs in (("list-units-color-mixed", {}), ("list-units-color-all", {"all_": True}), ("list-units-color-empty", {})):
        text = o[label]["stdout"]
        plain_text = re.sub(r"\x1b\[[0-9;:]*m", "", text)
        rows = rows_from(plain_text, False)
        assert render_list_units(list(reversed(rows)), color=True, **kwargs) == text, label
