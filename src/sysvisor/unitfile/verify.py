"""`systemd-analyze verify` for sysvisor: the same findings in the same words.

Loads the given unit files (their directories first in the search path, then the system's),
prints what loading reported, refuses units that did not load, then checks per unit what
verify checks: that a start job can be created (required dependencies load) and that the
first command of every Exec*= list exists.
# spec: unit-files.md §7, §7.5; systemd: src/analyze/analyze-verify-util.c (v252)
"""

from __future__ import annotations

import os
from collections import deque

from sysvisor.core.types import LoadState
from sysvisor.core.units import Unit
from sysvisor.unitfile import name as unit_name
from sysvisor.unitfile.errors import NOTICE
from sysvisor.unitfile.loader import UnitLoader, default_search_paths
from sysvisor.unitfile.specifier import HostFacts

# systemd: DEFAULT_PATH as compiled on Debian 12 (split-usr build)
EXEC_SEARCH_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
TEST_INSTANCE = "test_instance"  # systemd: verify_prepare_filename()

_EXEC_ORDER = ("exec_condition", "exec_start_pre", "exec_start", "exec_start_post", "exec_reload",
               "exec_stop", "exec_stop_post")
_DEP_FIELDS = ("wants", "requires", "requisite", "binds_to", "part_of", "upholds", "conflicts",
               "before", "after", "on_failure", "on_success", "propagates_reload_to",
               "reload_propagated_from", "propagates_stop_to", "stop_propagated_from",
               "joins_namespace_of")


def load_state_error(unit: Unit) -> str | None:
    """The refusal for a unit that is not loaded. # systemd: bus_unit_validate_load_state()"""
    state = unit.load_state
    if state is LoadState.LOADED:
        return None
    if state is LoadState.NOT_FOUND:
        return f"Unit {unit.name} not found."
    if state is LoadState.BAD_SETTING:
        return f"Unit {unit.name} has a bad unit file setting."
    if state is LoadState.MASKED:
        return f"Unit {unit.name} is masked."
    return (f"Unit {unit.name} failed to load properly, please adjust/correct and reload service "
            f"manager: {unit.load_error}")


def _executable_error(path: str) -> str | None:
    """# systemd: find_executable_full() as verify uses it (existence, not the x bit)"""
    if "/" in path:
        candidates = [path]
    else:
        candidates = [os.path.join(d, path) for d in EXEC_SEARCH_PATH]
    last = "No such file or directory"
    for cand in candidates:
        if os.path.isdir(cand):
            last = "Is a directory"
            continue
        if os.path.exists(cand):
            return None
    return last


class _Verifier:
    def __init__(self, loader: UnitLoader) -> None:
        self.loader = loader
        self.units: dict[str, Unit] = {}
        self.lines: list[str] = []

    def load(self, name: str) -> Unit:
        """Load `name` and everything it references, printing load diagnostics in load order."""
        if name in self.units:
            return self.units[name]
        queue = deque([name])
        first: Unit | None = None
        while queue:
            nm = queue.popleft()
            if nm in self.units:
                continue
            unit = self.loader.load(nm)
            self.units[nm] = unit
            self.units.setdefault(unit.name, unit)
            first = first or unit
            self.lines.extend(str(d) for d in self.loader.diagnostics(nm) if d.severity != NOTICE)
            for fld in _DEP_FIELDS:
                queue.extend(getattr(unit.unit, fld))
            queue.extend(_implicit_requirements(unit))
        assert first is not None
        return first

    def start_job_error(self, unit: Unit) -> str | None:
        """Why a start job cannot be created: the first required dependency that does not load.

        # systemd: transaction_add_job_and_dependencies() (Requires=/BindsTo= pull start jobs,
        #          Requisite= a verify-active job; all of them need a loaded unit)
        """
        seen = {unit.name}
        queue = deque([unit])
        while queue:
            u = queue.popleft()
            pulled = [*u.unit.requires, *u.unit.binds_to, *_implicit_requirements(u)]
            for dep in [*pulled, *u.unit.requisite]:
                if dep in seen:
                    continue
                seen.add(dep)
                if dep.endswith(_FRAGMENT_OPTIONAL):
                    continue  # these load without a file (device units come from udev)
                target = self.load(dep)
                problem = load_state_error(target)
                if problem:
                    return problem
                if dep in pulled:  # a Requisite= only gets a verify-active job, no further deps
                    queue.append(target)
        return None


# systemd: unit_load_fragment_and_dropin_optional() for these types
_FRAGMENT_OPTIONAL = (".device", ".slice", ".scope")


def _socket_service(unit: Unit, loader: UnitLoader) -> str | None:
    """The service a socket activates, if no file provides it (sockets are not run by
    sysvisor, so Service=/Accept= are read here only). # systemd: socket_verify()"""
    from sysvisor.unitfile.syntax import Assignment, lex

    keys: dict[str, str] = {}
    for path in [p for p in [unit.fragment_path, *unit.dropin_paths] if p]:
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8", "surrogateescape")
        except OSError:
            continue
        for item in lex(text, path).items:
            if isinstance(item, Assignment) and item.section == "Socket" and item.key in ("Service", "Accept"):
                keys[item.key] = item.value
    base = unit.name[: -len(".socket")]
    name = keys.get("Service") or (base + "@.service" if keys.get("Accept", "no") in ("yes", "true", "1", "on") else base + ".service")
    _canonical, path, _masked = loader.find(name)
    return None if path else name


def _implicit_requirements(unit: Unit) -> list[str]:
    # systemd: service_add_default_dependencies(), timer_add_default_dependencies()
    if unit.load_state is LoadState.LOADED and unit.unit.default_dependencies and unit.kind in ("service", "timer"):
        return ["sysinit.target"]
    return []


def verify(paths: list[str], *, search_paths: list[str] | None = None, release: int = 252,
           host: HostFacts | None = None) -> tuple[list[str], int]:
    """Check unit files like `systemd-analyze verify --man=no PATH...`.

    Returns the lines systemd-analyze would print (stderr) and its exit status (0 when only
    warnings, 1 when a unit cannot be loaded or a check failed). Paths in the lines are
    absolute, as systemd prints them. `release` 252 matches the `systemd-analyze` installed
    here (v252 directive set and wording); 257 knows the newer directives.
    # spec: unit-files.md §7.5; systemd: verify_units(), verify_unit()
    """
    dirs: list[str] = []
    names: list[str] = []
    lines: list[str] = []
    rc = 0
    for p in paths:
        absolute = os.path.abspath(p)
        base = os.path.basename(absolute)
        if not unit_name.is_valid(base):
            lines.append(f"Failed to prepare filename {p}: Invalid argument")
            rc = 1
            continue
        if unit_name.is_template(base):
            base = unit_name.replace_instance(base, TEST_INSTANCE)
        if os.path.dirname(absolute) not in dirs:
            dirs.append(os.path.dirname(absolute))
        names.append(base)
    if rc:
        return lines, rc
    loader = UnitLoader(dirs + (default_search_paths(False) if search_paths is None else search_paths),
                        host=host, release=release, wording=252 if release <= 252 else 257)
    v = _Verifier(loader)
    loaded: list[Unit] = [v.load(n) for n in names]
    lines.extend(v.lines)
    v.lines = []
    good: list[Unit] = []
    for unit in loaded:
        problem = load_state_error(unit)
        if problem:
            lines.append(problem)
            rc = 1
        else:
            good.append(unit)
    for unit in good:
        problem = v.start_job_error(unit)
        lines.extend(v.lines)
        v.lines = []
        if problem:
            lines.append(f"{unit.name}: Failed to create {unit.name}/start: {problem}")
            rc = 1
        if unit.kind == "socket":
            accepted = _socket_service(unit, loader)
            if accepted:
                lines.append(f"{unit.name}: service {accepted} not loaded, socket cannot be started.")
                rc = 1
        if unit.service is not None:
            for fld in _EXEC_ORDER:
                cmds = getattr(unit.service, fld)
                if not cmds or cmds[0].ignore_failure:
                    continue
                err = _executable_error(cmds[0].path)
                if err:
                    lines.append(f"{unit.name}: Command {cmds[0].path} is not executable: {err}")
                    rc = 1
    return lines, rc


def main(argv: list[str] | None = None) -> int:
    """`python -m sysvisor.unitfile.verify FILE...`"""
    import sys

    args = sys.argv[1:] if argv is None else argv
    lines, rc = verify(args)
    for line in lines:
        print(line, file=sys.stderr)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
