"""Preset policy: what `systemctl preset` would do with a unit, shown as the PRESET column of
`list-unit-files` and `; preset: …` in `status`.

Files `*.preset` from the preset directories, ordered by file name (a name in an earlier
directory masks the same name in a later one), are read line by line: `enable PATTERN`,
`disable PATTERN` or `ignore PATTERN` (shell globs; `#`/`;` comments). The first rule whose
pattern matches decides; with none, the unit is `enabled`.
# spec: unit-files.md §8 (presets); systemd: install.c read_presets(), query_presets(),
# systemd.preset(5)
"""

from __future__ import annotations

import fnmatch
import os

SYSTEM_PRESET_DIRS = ("/etc/systemd/system-preset", "/run/systemd/system-preset",
                      "/usr/local/lib/systemd/system-preset", "/usr/lib/systemd/system-preset")
USER_PRESET_DIRS = ("/etc/systemd/user-preset", "/run/systemd/user-preset",
                    "/usr/local/lib/systemd/user-preset", "/usr/lib/systemd/user-preset")
_WORDS = {"enable": "enabled", "disable": "disabled", "ignore": "ignored"}


def read_rules(root: str = "/", *, user: bool = False) -> list[tuple[str, str]]:
    """(pattern, "enabled"|"disabled"|"ignored") in the order systemd applies them."""
    files: dict[str, str] = {}
    for directory in USER_PRESET_DIRS if user else SYSTEM_PRESET_DIRS:
        rooted = os.path.normpath(root + "/" + directory) if root != "/" else directory
        try:
            names = os.listdir(rooted)
        except OSError:
            continue
        for name in names:
            if name.endswith(".preset"):
                files.setdefault(name, os.path.join(rooted, name))
    rules: list[tuple[str, str]] = []
    for name in sorted(files):
        try:
            with open(files[name], encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split()
            if len(words) >= 2 and words[0] in _WORDS and not line.lstrip().startswith(("#", ";")):
                rules.append((words[1], _WORDS[words[0]]))
    return rules


def preset_of(name: str, rules: list[tuple[str, str]]) -> str:
    """The preset of unit `name`: the first matching rule's, else "enabled".
    # systemd: query_presets() (PRESET_ENABLE when nothing matches)"""
    for pattern, result in rules:
        if fnmatch.fnmatchcase(name, pattern):
            return result
    return "enabled"


# systemd: show_preset_for_state() — these states have no preset to show
NO_PRESET_STATES = ("alias", "static", "generated", "transient")
