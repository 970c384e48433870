"""What `systemctl [--root=DIR] enable/disable/is-enabled` do on disk, offline.

`plan_enable()`/`plan_disable()` read the unit files and the existing links and return an
`InstallPlan`: the ordered changes with systemctl's messages. They never modify anything;
`apply()` carries a plan out. The [Install] section (fragment and drop-ins) is only read
here, never at run time.
# spec: unit-files.md §8; systemd: src/shared/install.c (v252)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from sysvisor.core.units import InstallSection
from sysvisor.unitfile import name as unit_name
from sysvisor.unitfile.loader import SYSTEM_UNIT_PATH, UnitLoader, default_search_paths
from sysvisor.unitfile.specifier import INSTALL_SPECIFIERS, HostFacts, SpecifierError, expand, specifier_values
from sysvisor.unitfile.syntax import Assignment, Header, lex

# systemctl's notice for units with nothing to enable, as 257 and as 252 word it
_NO_INSTALL_TAIL = """\
• A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
• A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
• In case of template units, the unit is meant to be enabled with some
  instance name specified."""
NO_INSTALL_INFO = """\
The unit files have no installation config (WantedBy=, RequiredBy=, UpheldBy=,
Also=, or Alias= settings in the [Install] section, and DefaultInstance= for
template units). This means they are not meant to be enabled or disabled using systemctl.
 
Possible reasons for having these kinds of units are:
• A unit may be statically enabled by being symlinked from another unit's
  .wants/, .requires/, or .upholds/ directory.
""" + _NO_INSTALL_TAIL
NO_INSTALL_INFO_252 = """\
The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled using systemctl.
 
Possible reasons for having this kind of units are:
• A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
""" + _NO_INSTALL_TAIL

# scope -> config directory that enable writes to. # spec: unit-files.md §8 "Scope directories"
SCOPE_DIRS = {"system": "/etc/systemd/system", "runtime": "/run/systemd/system",
              "global": "/etc/systemd/user"}
# Installer._links(): folder → ((folder, mtime) of each one walked, the links found)
_LINKS_SEEN: dict[str, tuple[tuple[tuple[str, int | None], ...], list[tuple[str, str, str]]]] = {}
_LINKS_SETTLED_NS = 2_000_000_000


def _mtime_ns(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


_ENABLED_OK = frozenset({"enabled", "enabled-runtime", "static", "alias", "indirect", "generated",
                         "transient"})


@dataclass(frozen=True)
class Change:
    """One step: `symlink` (path → target), `unlink` (path), or a message-only `note`/`error`."""

    kind: str
    path: str = ""
    target: str = ""
    text: str = ""
    text_252: str = ""  # where systemd 252 words it otherwise (the host's systemctl, for tests)

    def message(self, wording: int = 257) -> str:
        """The line systemctl prints for this step; `wording` 252: as systemd 252 did (paths
        unquoted, "Failed to enable unit, unit X …"). # systemd: install_changes_dump()"""
        if self.kind == "symlink":
            if wording == 252:
                return f"Created symlink {self.path} \u2192 {self.target}."
            return f"Created symlink '{self.path}' \u2192 '{self.target}'."
        if self.kind == "unlink":
            return f'Removed "{self.path}".' if wording == 252 else f"Removed '{self.path}'."
        return self.text_252 if wording == 252 and self.text_252 else self.text


@dataclass
class InstallPlan:
    """Ordered changes; `rc` is systemctl's exit status for the verb."""

    changes: list[Change] = field(default_factory=list)
    rc: int = 0

    def lines(self, wording: int = 257) -> list[str]:
        """What systemctl prints (stderr), one line per element."""
        return [line for c in self.changes for line in c.message(wording).split("\n")]


# [Install] read from a unit file and its drop-ins for one name: the parser's own type
InstallInfo = InstallSection


_INSTALL_LISTS = {"WantedBy": "wanted_by", "RequiredBy": "required_by", "UpheldBy": "upheld_by",
                  "Also": "also", "Alias": "alias"}


def read_install_info(paths: list[str], name: str, host: HostFacts | None = None) -> InstallInfo:
    """Collect [Install] from `paths` (fragment first, then drop-ins) for unit `name`.

    # spec: unit-files.md §5 (specifiers allowed in [Install]), §8
    """
    info = InstallInfo()
    values = specifier_values(name, paths[0] if paths else None, host or HostFacts())
    for path in paths:
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8", "surrogateescape")
        except OSError:
            continue
        for item in lex(text, path).items:
            if isinstance(item, Header) or not isinstance(item, Assignment) or item.section != "Install":
                continue
            try:
                value = expand(item.value, values, INSTALL_SPECIFIERS)
            except SpecifierError:
                continue
            if item.key in _INSTALL_LISTS:
                lst = getattr(info, _INSTALL_LISTS[item.key])
                if not value:
                    lst.clear()
                lst.extend(w for w in value.split() if w not in lst)
            elif item.key == "DefaultInstance":
                info.default_instance = value or None
    return info


class Installer:
    """enable/disable/is-enabled against a root directory. # spec: unit-files.md §8"""

    def __init__(self, root: str = "/", *, scope: str = "system", search_paths: list[str] | None = None,
                 config_dir: str | None = None, host: HostFacts | None = None,
                 enabled_dirs: list[str] | tuple[str, ...] = (), builtin_units: frozenset[str] = frozenset()) -> None:
        """`enabled_dirs`: folders whose units count as enabled as a whole (`sysvisor up
        --units DIR`: a unit with WantedBy=/RequiredBy=/UpheldBy= there is started at boot
        without links, daemon/boot.py), so `is-enabled` says "enabled" for them.
        `builtin_units`: units the running manager has without a file (its standard
        targets): a link to one is no link "to a non-existent unit"."""
        self.builtin_units = builtin_units
        self.root = os.path.abspath(root)
        self.enabled_dirs = {os.path.normpath(d) for d in enabled_dirs}
        self.scope = scope
        base = search_paths if search_paths is not None else (
            default_search_paths(True) if scope == "user" else list(SYSTEM_UNIT_PATH))
        self.search_paths = [self._rooted(p) for p in base]
        self.config_dir = self._rooted(config_dir or SCOPE_DIRS.get(scope) or base[4])
        runtime = SCOPE_DIRS["runtime"] if scope in ("system", "runtime") else None
        self.runtime_dir = self._rooted(runtime) if runtime else None
        self.loader = UnitLoader(self.search_paths, host=host or HostFacts())
        self.host = host or HostFacts()

    # --- paths ----------------------------------------------------------------------------------

    def _rooted(self, path: str) -> str:
        return os.path.normpath(self.root + "/" + path) if self.root != "/" else os.path.normpath(path)

    def _unrooted(self, path: str) -> str:
        if self.root == "/":
            return path
        return "/" + os.path.relpath(path, self.root) if path.startswith(self.root + "/") else path

    def _file_of(self, name: str) -> tuple[str | None, bool]:
        _canonical, path, masked = self.loader.find(name)
        return path, masked

    # --- enable ---------------------------------------------------------------------------------

    def plan_enable(self, names: list[str]) -> InstallPlan:
        """The changes `systemctl enable NAMES` makes. # systemd: unit_file_enable()"""
        plan = InstallPlan()
        done: set[str] = set()
        any_info = False
        for name in names:
            ok, had_info = self._enable_one(name, plan, done)
            any_info = any_info or had_info
            if not ok:
                plan.rc = 1
        if plan.rc == 0 and not any_info:
            plan.changes.append(Change("note", text=NO_INSTALL_INFO, text_252=NO_INSTALL_INFO_252))
        return plan

    def _enable_one(self, name: str, plan: InstallPlan, done: set[str]) -> tuple[bool, bool]:
        if name in done:
            return True, True
        done.add(name)
        if not unit_name.is_valid(name):
            plan.changes.append(Change("error", text=f"Failed to enable unit: Unit name {name} is not valid."))
            return False, True
        path, masked = self._file_of(name)
        if path is None:
            plan.changes.append(Change("error", text=f"Failed to enable unit: Unit {name} does not exist",
                                       text_252=f"Failed to enable unit, unit {name} does not exist."))
            return False, True
        if masked:
            plan.changes.append(Change("error", text=f"Failed to enable unit: Unit {path} is masked",
                                       text_252=f"Failed to enable unit, unit {path} is masked."))
            return False, True
        template = unit_name.is_template(name)
        info = read_install_info([path, *self.loader.dropin_paths(name)], name, self.host)
        if info.empty(template):
            return True, False
        target = self._unrooted(path)
        effective = name
        if template and info.default_instance:
            effective = unit_name.replace_instance(name, info.default_instance)
            info = read_install_info([path, *self.loader.dropin_paths(name)], effective, self.host)
        ok = True
        for alias in info.alias:
            if unit_name.unit_type(alias) != unit_name.unit_type(name) or not unit_name.is_valid(alias):
                plan.changes.append(Change("error", text=f"Failed to enable unit: Cannot alias {name} as {alias}",
                                           text_252=f"Failed to enable unit, cannot alias {name} as {alias}."))
                ok = False
                continue
            ok &= self._link(plan, os.path.join(self.config_dir, alias), target, force=False)
        for targets, suffix in ((info.wanted_by, ".wants"), (info.required_by, ".requires"),
                                (info.upheld_by, ".upholds")):
            for dest in targets:
                if not unit_name.is_valid(dest):
                    plan.changes.append(Change("error", text=f"Failed to enable unit: Unit name {dest} is not valid."))
                    ok = False
                    continue
                link_name = effective
                if unit_name.is_template(effective):
                    if not unit_name.is_template(dest):
                        plan.changes.append(Change("error", text=(
                            f"Failed to enable {name}, destination unit {dest} is a non-template unit.")))
                        ok = False
                        continue
                elif unit_name.is_template(dest):
                    dest = unit_name.replace_instance(dest, unit_name.instance(effective) or "")
                linked = self._link(plan, os.path.join(self.config_dir, dest + suffix, link_name), target, force=True)
                ok &= linked
                if linked and self._file_of(dest)[0] is None and dest not in self.builtin_units:
                    plan.changes.append(Change("note", text=(
                        f"Unit {path} is added as a dependency to a non-existent unit {dest}.")))
        for also in info.also:
            sub_ok, _ = self._enable_one(also, plan, done)
            ok &= sub_ok
        return ok, True

    def _link(self, plan: InstallPlan, link: str, target: str, *, force: bool) -> bool:
        """# systemd: create_symlink()"""
        if os.path.islink(link):
            dest = os.readlink(link)
            if os.path.normpath(dest) == os.path.normpath(target):
                return True
            if not force:
                plan.changes.append(Change(
                    "error", text=f"Failed to enable unit: File '{link}' already exists and is a symlink to {dest}",
                    text_252=f'Failed to enable unit, file "{link}" already exists and is a symlink to "{dest}".'))
                return False
            plan.changes.append(Change("unlink", link))
        elif os.path.lexists(link):
            plan.changes.append(Change("error", text=f"Failed to enable unit: File '{link}' already exists",
                                       text_252=f'Failed to enable unit, file "{link}" already exists.'))
            return False
        plan.changes.append(Change("symlink", link, target))
        return True

    # --- disable --------------------------------------------------------------------------------

    def plan_disable(self, names: list[str]) -> InstallPlan:
        """The changes `systemctl disable NAMES` makes: every symlink in the config directory
        named after the unit (or its instances and aliases) or pointing to its file.
        "Removed" lines are sorted by path (systemd prints them in directory order).
        # systemd: unit_file_disable(), remove_marked_symlinks()
        """
        plan = InstallPlan()
        marked_names: set[str] = set()
        marked_files: set[str] = set()
        carries_info = False
        queue = list(names)
        seen: set[str] = set()
        while queue:
            name = queue.pop(0)
            if name in seen:
                continue
            seen.add(name)
            path, masked = self._file_of(name)
            if path is None:
                plan.changes.append(Change("error", text=f"Failed to disable unit: Unit {name} does not exist",
                                           text_252=f"Failed to disable unit, unit {name} does not exist."))
                continue
            if masked:
                plan.changes.append(Change("note", text=f"Unit {path} is masked, ignoring."))
            marked_names.add(name)
            if not masked:
                marked_files.add(self._unrooted(path))
                info = read_install_info([path, *self.loader.dropin_paths(name)], name, self.host)
                marked_names.update(info.alias)
                queue.extend(info.also)
                carries_info = carries_info or not info.empty(unit_name.is_template(name))
        removals = []
        for directory in filter(None, (self.config_dir, self.runtime_dir)):
            for dirpath, dirnames, filenames in os.walk(directory):
                for fname in filenames + dirnames:
                    link = os.path.join(dirpath, fname)
                    if not os.path.islink(link):
                        continue
                    dest = os.path.normpath(os.path.join(dirpath, os.readlink(link)))
                    if dest == "/dev/null":
                        continue  # masks are undone by unmask, not disable
                    base = fname
                    template = unit_name.template_of(base) if unit_name.instance(base) else None
                    named = base in marked_names or (template and template in marked_names)
                    # a link named after the unit in a .wants/ (.requires/, .upholds/) folder is
                    # ours; one beside the units (an alias) only if it points to our unit:
                    # disabling clash.service with Alias=other.service keeps the other.service
                    # that inst.service made (systemd 257, tests/data/oracle/cli/unit-file-verbs2-257.json)
                    dependency = os.path.basename(dirpath).endswith((".wants", ".requires", ".upholds"))
                    if (self._unrooted(dest) in marked_files
                            or (named and (dependency or os.path.basename(dest) in marked_names))):
                        removals.append(link)
        plan.changes.extend(Change("unlink", p) for p in sorted(set(removals)))
        if not carries_info and not removals and not any(c.kind == "error" for c in plan.changes):
            # systemctl's notice, as for enable (a masked unit counts as carrying none)
            plan.changes.append(Change("note", text=NO_INSTALL_INFO, text_252=NO_INSTALL_INFO_252))
        return plan

    # --- is-enabled -----------------------------------------------------------------------------

    def state(self, name: str) -> str | None:
        """The `is-enabled` state, or None when there is no such unit file ("bad").

        # spec: unit-files.md §8 is-enabled table; systemd: unit_file_lookup_state()
        """
        for directory, suffix in ((self.config_dir, ""), (self.runtime_dir, "-runtime")):
            if not directory:
                continue
            link = os.path.join(directory, name)
            if os.path.islink(link):
                dest = os.path.normpath(os.path.join(directory, os.readlink(link)))
                if dest == "/dev/null":
                    return "masked" + suffix
                if os.path.basename(dest) != name and unit_name.is_valid(os.path.basename(dest)):
                    return "alias"
                if os.path.dirname(self._rooted(dest)) not in self.search_paths:
                    return "linked" + suffix
        path, masked = self._file_of(name)
        if path is None:
            return None
        if masked:
            return "masked"
        template = unit_name.is_template(name)
        info = read_install_info([path, *self.loader.dropin_paths(name)], name, self.host)
        target = self._unrooted(path)
        for directory, suffix in ((self.config_dir, ""), (self.runtime_dir, "-runtime")):
            if directory and self._enabled_links(directory, name, target, info.alias):
                return "enabled" + suffix
        for directory in filter(None, (self.config_dir, self.runtime_dir)):
            if self._other_links(directory, name, target):
                return "indirect"  # known under another name: may be in use
        if (info.wanted_by or info.required_by or info.upheld_by) and not template \
                and os.path.dirname(path) in self.enabled_dirs:
            return "enabled"  # a --units folder: enabled as a whole
        if info.wanted_by or info.required_by or info.upheld_by or info.alias or (
                template and info.default_instance):
            return "disabled"
        return "indirect" if info.also else "static"

    @staticmethod
    def _links(directory: str) -> list[tuple[str, str, str]]:
        """(folder, name, target) of every symlink under `directory`. Kept between calls while
        no folder of it changed (`status` asks for each unit's enablement, and the manager's
        unit folder may hold hundreds of files): a link made or removed changes its folder's
        mtime. A walk is kept only if every folder's mtime was older than the walk by
        `_LINKS_SETTLED_NS`, so a change within the file system's timestamp granularity of
        an earlier one is never missed."""
        cached = _LINKS_SEEN.get(directory)
        if cached is not None and all(_mtime_ns(d) == m for d, m in cached[0]):
            return cached[1]
        started = time.time_ns()
        folders, links = [], []
        for dirpath, dirnames, filenames in os.walk(directory):
            folders.append(dirpath)
            for fname in filenames + dirnames:
                link = os.path.join(dirpath, fname)
                if os.path.islink(link):
                    links.append((dirpath, fname, os.path.normpath(os.path.join(dirpath, os.readlink(link)))))
        stamps = tuple((d, _mtime_ns(d)) for d in folders)
        if all(m is not None and m < started - _LINKS_SETTLED_NS for _d, m in stamps):
            _LINKS_SEEN[directory] = (stamps, links)
        else:
            _LINKS_SEEN.pop(directory, None)
        return links

    def _enabled_links(self, directory: str, name: str, target: str, aliases: list[str]) -> bool:
        """A .wants/.requires/.upholds link named after the unit (any instance of a template),
        or one of its Alias= links. # systemd: find_symlinks_in_scope(match_aliases=true)"""
        template = unit_name.is_template(name)
        for dirpath, fname, dest in self._links(directory):
            if dest == "/dev/null":
                continue
            if dirpath != directory:
                if fname == name or (template and unit_name.instance(fname)
                                     and unit_name.template_of(fname) == name):
                    return True
            elif fname in aliases and self._unrooted(dest) == target:
                return True
        return False

    def _other_links(self, directory: str, name: str, target: str) -> bool:
        """Links to the file under another name; other instances of the same template do not
        count (their links point at the template file too)."""
        template = unit_name.template_of(name) if unit_name.instance(name) is not None else None
        for _d, fname, dest in self._links(directory):
            if self._unrooted(dest) != target:
                continue
            if template and unit_name.instance(fname) is not None and unit_name.template_of(fname) == template:
                continue
            return True
        return False

    def is_enabled_rc(self, state: str | None) -> int:
        return 0 if state in _ENABLED_OK else 1


def apply(plan: InstallPlan) -> None:
    """Carry out a plan: create and remove the symlinks (parents created as needed)."""
    for change in plan.changes:
        if change.kind == "unlink":
            try:
                os.unlink(change.path)
            except FileNotFoundError:
                pass
        elif change.kind == "symlink":
            os.makedirs(os.path.dirname(change.path), exist_ok=True)
            os.symlink(change.target, change.path)
