"""The CLI's formatting modules must start fast: stdlib only, no engine, no parser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
LIGHT = ["sysvisor.cli.render", "sysvisor.cli.listing", "sysvisor.cli.format", "sysvisor.protocol.properties", "sysvisor.timefmt", "sysvisor.core.exit_status"]


def test_formatting_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, json\n"
        f"for m in {LIGHT!r}: __import__(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC)}).stdout
    mods = set(json.loads(out))
    ours = {m for m in mods if m.startswith("sysvisor")}
    # the pure time-span formatter lives in core (one implementation for engine and CLI)
    # constants without the engine's enums (core/types.py: ~6 ms per CLI call)
    assert ours <= set(LIGHT) | {"sysvisor", "sysvisor.cli", "sysvisor.protocol", "sysvisor.core", "sysvisor.core.timespan", "sysvisor.core.constants"}, ours
    for heavy in ("subprocess", "asyncio", "selectors", "socket", "datetime", "dataclasses", "typing"):
        assert heavy not in mods, heavy


def test_show_many_separates_units_with_a_blank_line() -> None:
    from render_snapshot import ORACLE2_FILE, load_oracle, parse_show

    from sysvisor.protocol.properties import format_show_many

    o = load_oracle(ORACLE2_FILE)
    text = o["show-multi"]["stdout"]
    units = [parse_show(block) for block in text.split("\n\n")]
    for u in units:
        u.setdefault("StatusText", "")
    assert format_show_many(units, ["Id,Description,StatusText"]) == text
    assert format_show_many([parse_show(o["show-p-order"]["stdout"])], ["SubState,ActiveState", "MainPID"], True) == (
        o["show-p-value-order"]["stdout"]
    )


def test_reading_the_journal_does_not_load_its_writer() -> None:
    # `status` reads the unit's last lines: the segment format (journal/segment.py), not the
    # writer's module with its locking and rotation (journal/store.py, ~0.5 ms per call)
    code = "import sys, json\nimport sysvisor.journal.message\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC)}).stdout
    mods = set(json.loads(out))
    assert "sysvisor.journal.segment" in mods and "sysvisor.journal.reader" in mods
    assert "sysvisor.journal.store" not in mods and "fcntl" not in mods


def test_unit_names_load_without_the_unit_file_parser() -> None:
    # the CLI mangles names with unitfile/name.py on its hot verbs (is-active, status)
    code = "import sys, json\nimport sysvisor.unitfile.name\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC)}).stdout
    ours = {m for m in json.loads(out) if m.startswith("sysvisor")}
    assert ours == {"sysvisor", "sysvisor.unitfile", "sysvisor.unitfile.name"}, ours
