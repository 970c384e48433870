"""`%` specifiers, expanded when a unit file is loaded.

The host facts (hostname, machine id, the manager's user …) are passed in as a `HostFacts`
value collected by the loader, so expansion itself stays pure.
# spec: unit-files.md §5; systemd: src/core/unit-printf.c, src/shared/specifier.c
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sysvisor.unitfile import name as unit_name


@dataclass(frozen=True)
class HostFacts:
    """What the manager knows about its host and itself. Defaults: a root system manager."""

    architecture: str = "x86-64"
    boot_id: str = ""
    machine_id: str = ""
    hostname: str = "localhost"
    pretty_hostname: str = ""
    kernel_release: str = ""
    os_release: dict[str, str] = field(default_factory=dict)
    user_name: str = "root"
    uid: int = 0
    group_name: str = "root"
    gid: int = 0
    home: str = "/root"
    shell: str = "/bin/sh"
    user_manager: bool = False
    cache_dir: str = "/var/cache"
    config_dir: str = "/etc"
    log_dir: str = "/var/log"
    state_dir: str = "/var/lib"
    runtime_dir: str = "/run"
    tmp_dir: str = "/tmp"
    var_tmp_dir: str = "/var/tmp"
    credentials_dir: str = ""  # empty: RUNTIME/credentials/UNIT, as systemd 257 (observed)


class SpecifierError(ValueError):
    """An unknown specifier; str() is systemd's errno text."""


# Specifiers that [Install] expands. # spec: unit-files.md §5 (last paragraph)
INSTALL_SPECIFIERS = frozenset("abBgGHijlmnNopuUvwW%")


def specifier_values(unit: str, fragment_path: str | None, host: HostFacts) -> dict[str, str]:
    """The value of every specifier for `unit`. # spec: unit-files.md §5 table"""
    inst = unit_name.instance(unit)
    pfx = unit_name.prefix(unit)
    stem = unit.rsplit(".", 1)[0]
    last = pfx.rsplit("-", 1)[-1] if "-" in pfx else pfx
    osr = host.os_release
    frag = fragment_path or ""
    if inst:
        f_value = unit_name.unescape_path(inst)
    else:
        f_value = unit_name.unescape_path(pfx)
    return {
        "a": host.architecture,
        "A": osr.get("IMAGE_VERSION", ""),
        "b": host.boot_id,
        "B": osr.get("BUILD_ID", ""),
        "C": host.cache_dir,
        "d": host.credentials_dir or f"{host.runtime_dir}/credentials/{unit}",
        "E": host.config_dir,
        "f": f_value,
        "g": host.group_name,
        "G": str(host.gid),
        "h": host.home,
        "H": host.hostname,
        "i": inst or "",
        "I": unit_name.unescape(inst, path=True) if inst else "",
        "j": last,
        "J": unit_name.unescape(last, path=True),
        "l": host.hostname.split(".", 1)[0],
        "L": host.log_dir,
        "m": host.machine_id,
        "M": osr.get("IMAGE_ID", ""),
        "n": unit,
        "N": stem,
        "o": osr.get("ID", ""),
        "p": pfx,
        "P": unit_name.unescape(pfx, path=True),
        "q": host.pretty_hostname or host.hostname.split(".", 1)[0],
        "s": host.shell,
        "S": host.state_dir,
        "t": host.runtime_dir,
        "T": host.tmp_dir,
        "u": host.user_name,
        "U": str(host.uid),
        "v": host.kernel_release,
        "V": host.var_tmp_dir,
        "w": osr.get("VERSION_ID", ""),
        "W": osr.get("VARIANT_ID", ""),
        "y": frag,
        "Y": frag.rsplit("/", 1)[0] if "/" in frag else "",
        "%": "%",
    }


class LazySpecifiers(Mapping[str, str]):
    """specifier_values() computed on first use: most lines have no `%`."""

    def __init__(self, unit: str, fragment_path: str | None, host: HostFacts) -> None:
        self._args = (unit, fragment_path, host)
        self._values: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self._values is None:
            self._values = specifier_values(*self._args)
        return self._values

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def expand(text: str, values: Mapping[str, str], allowed: frozenset[str] | None = None) -> str:
    """Replace `%x` in text; an unknown (or not allowed) one raises SpecifierError("Invalid slot").

    A lone trailing `%` is kept. # systemd: specifier_printf()
    """
    if "%" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 1 < n:
            key = text[i + 1]
            if key not in values or (allowed is not None and key not in allowed):
                raise SpecifierError("Invalid slot")
            out.append(values[key])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
