"""core/ must not import anything that touches the OS or reads a clock."""

from __future__ import annotations

import ast
import pathlib

import sysvisor.core

FORBIDDEN = {
    "os", "sys", "time", "socket", "subprocess", "signal", "select", "selectors",
    "threading", "asyncio", "multiprocessing", "shutil", "pathlib", "tempfile", "glob",
    "fcntl", "resource", "pwd", "grp", "ctypes", "uuid", "secrets", "platform", "mmap",
}
# datetime is allowed as calendar arithmetic, never as a clock; errno only for its constants;
# zoneinfo reads the time-zone database, which is data, not state.
# io only for in-memory buffers (BytesIO), never files.
CLOCK_CALLS = (".now(", ".today(", ".utcnow(", "time.time", "fromtimestamp(", "io.open(", "io.FileIO", " open(")


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno


def test_core_imports_no_os_or_clock_module():
    root = pathlib.Path(sysvisor.core.__file__).parent
    bad = []
    for path in sorted(root.glob("*.py")):
        for name, line in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN or (top == "sysvisor" and not name.startswith("sysvisor.core")):
                bad.append(f"{path.name}:{line}: import {name}")
    assert not bad, "\n".join(bad)


def test_datetime_is_never_a_clock():
    root = pathlib.Path(sysvisor.core.__file__).parent
    bad = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(root.glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(call in line for call in CLOCK_CALLS) and not line.lstrip().startswith("#")
    ]
    assert not bad, "\n".join(bad)


def test_io_only_for_in_memory_buffers():
    # io.BytesIO/StringIO are pure (calendar_zone.py parses tzdata from bytes); io.open is not
    root = pathlib.Path(sysvisor.core.__file__).parent
    for path in sorted(root.glob("*.py")):
        text = path.read_text()
        uses = {m for m in __import__("re").findall(r"\bio\.(\w+)", text)}
        assert uses <= {"BytesIO", "StringIO"}, (path.name, uses)


def test_random_is_only_used_seeded():
    root = pathlib.Path(sysvisor.core.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        if "import random" in text:
            assert "random.Random(" in text, path.name
            assert "random.random(" not in text and "random.randint(" not in text, path.name
