"""Finding and loading unit files: search paths, aliases, masking, templates, drop-ins.

The only module of `unitfile/` that touches the file system. It reads files and directory
listings, then hands the texts to the pure `interpreter`.

Diagnostics: `UnitLoader.diagnostics(name)` returns what loading `name` reported (also for the
canonical name when `name` was an alias); `load()` itself never raises.
# spec: unit-files.md §4; systemd: src/basic/unit-file.c (unit_file_build_name_map,
#       unit_file_find_fragment), src/shared/dropin.c (unit_file_find_dropin_paths)
"""

from __future__ import annotations

import os
import pwd
import grp
import socket
from dataclasses import dataclass, field

from sysvisor.core.types import LoadState
from sysvisor.core.units import Unit
from sysvisor.unitfile import name as unit_name
from sysvisor.unitfile.errors import Diagnostic
from sysvisor.unitfile.interpreter import interpret
from sysvisor.unitfile.specifier import HostFacts, LazySpecifiers

SYSTEM_UNIT_PATH = [
    "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
    "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
    "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
    "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
]


def default_search_paths(user: bool, environ: dict[str, str] | None = None) -> list[str]:
    """systemd's unit search path for the system or user manager, `$SYSTEMD_UNIT_PATH` honoured.

    A trailing `:` in $SYSTEMD_UNIT_PATH appends the default list.
    # spec: unit-files.md §4.1; systemd: lookup_paths_init()
    """
    env = os.environ if environ is None else environ
    defaults = _user_paths(env) if user else list(SYSTEM_UNIT_PATH)
    override = env.get("SYSTEMD_UNIT_PATH")
    if override is None:
        return defaults
    parts = override.split(":")
    if parts and parts[-1] == "":
        return [p for p in parts[:-1] if p] + defaults
    return [p for p in parts if p]


def _user_paths(env: os._Environ[str] | dict[str, str]) -> list[str]:
    home = env.get("HOME") or _home_of(os.getuid())
    config = env.get("XDG_CONFIG_HOME") or f"{home}/.config"
    data = env.get("XDG_DATA_HOME") or f"{home}/.local/share"
    runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    config_dirs = (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    data_dirs = (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    return [
        f"{config}/systemd/user.control", f"{runtime}/systemd/user.control",
        f"{runtime}/systemd/transient", f"{runtime}/systemd/generator.early",
        f"{config}/systemd/user", *[f"{d}/systemd/user" for d in config_dirs if d],
        "/etc/systemd/user", f"{runtime}/systemd/user", "/run/systemd/user",
        f"{runtime}/systemd/generator", f"{data}/systemd/user",
        *[f"{d}/systemd/user" for d in data_dirs if d],
        "/usr/local/lib/systemd/user", "/usr/lib/systemd/user", f"{runtime}/systemd/generator.late",
    ]


def _home_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_dir
    except KeyError:
        return "/"


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "surrogateescape").strip()
    except OSError:
        return ""


def collect_host_facts(user: bool = False) -> HostFacts:
    """Gather what specifiers need from this machine. # spec: unit-files.md §5"""
    osr: dict[str, str] = {}
    for line in (_read("/etc/os-release") or _read("/usr/lib/os-release")).splitlines():
        k, sep, val = line.partition("=")
        if sep:
            osr[k.strip()] = val.strip().strip("\"'")
    uid, gid = os.getuid(), os.getgid()
    try:
        pw = pwd.getpwuid(uid)
        user_name, home, shell = pw.pw_name, pw.pw_dir, pw.pw_shell or "/bin/sh"
    except KeyError:
        user_name, home, shell = str(uid), "/", "/bin/sh"
    try:
        group_name = grp.getgrgid(gid).gr_name
    except KeyError:
        group_name = str(gid)
    arch = {"x86_64": "x86-64", "aarch64": "arm64", "i686": "x86", "armv7l": "arm"}.get(
        os.uname().machine, os.uname().machine)
    common = dict(
        architecture=arch, boot_id=_read("/proc/sys/kernel/random/boot_id").replace("-", ""),
        machine_id=_read("/etc/machine-id"), hostname=socket.gethostname(),
        pretty_hostname="", kernel_release=os.uname().release, os_release=osr,
        user_name=user_name, uid=uid, group_name=group_name, gid=gid, home=home, shell=shell,
        tmp_dir=os.environ.get("TMPDIR", "/tmp"), var_tmp_dir=os.environ.get("TMPDIR", "/var/tmp"),
    )
    if not user:
        return HostFacts(**common)
    config = os.environ.get("XDG_CONFIG_HOME") or f"{home}/.config"
    return HostFacts(
        **common, user_manager=True,
        cache_dir=os.environ.get("XDG_CACHE_HOME") or f"{home}/.cache", config_dir=config,
        log_dir=f"{config}/log", state_dir=os.environ.get("XDG_STATE_HOME") or f"{home}/.local/state",
        runtime_dir=os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{uid}",
    )


@dataclass
class _Entry:
    """One unit-file name in the search path, as the name map records it."""

    name: str
    path: str | None  # the file to parse (None: masked)
    alias_of: str | None = None  # canonical name when this name is an alias symlink
    source: str = ""  # the directory entry itself (the symlink for masks and aliases)


@dataclass
class _NameMap:
    entries: dict[str, _Entry] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)  # canonical -> alias names


class UnitLoader:
    """Loads units by name from `search_paths` (earlier directories win).

    # spec: unit-files.md §4
    """

    def __init__(self, search_paths: list[str], *, host: HostFacts | None = None,
                 user_manager: bool = False, release: int = 257, wording: int = 252, root: str = "/") -> None:
        """`release`: systemd whose directive set is followed (257; 252 for v252 verify parity);
        `wording`: systemd whose message texts are printed (252, like `systemd-analyze` here);
        `root`: the directory `--root` names (the search paths are already under it); absolute
        symlink targets are taken relative to it, as `systemctl --root` does."""
        self.search_paths = [os.path.normpath(p) for p in search_paths]
        self.root = os.path.normpath(root)
        self.user_manager = user_manager
        self.release = release
        self.wording = wording
        self._host = host
        self._map: _NameMap | None = None
        self._diagnostics: dict[str, list[Diagnostic]] = {}
        self._listing: dict[str, list[str] | None] = {}
        self._entries: dict[str, frozenset[str]] = {}  # search dir -> names in it

    # --- public ---------------------------------------------------------------------------------

    def load(self, name: str) -> Unit:
        """The unit `name`, never raising: not-found/masked/bad-setting/error are load states.

        An alias name gives the canonical unit (its `aliases` lists the other names).
        # spec: unit-files.md §4.2–§4.4, §7
        """
        if not unit_name.is_valid(name):
            self._diagnostics[name] = []
            return Unit(name=name, load_state=LoadState.ERROR,
                        load_error=f"Unit name {name} is not valid.")
        if unit_name.is_template(name):  # a template is not a unit; instances are
            self._diagnostics[name] = []
            return Unit(name=name, load_state=LoadState.ERROR,
                        load_error=f"Unit name {name} is missing the instance name.")
        canonical, entry = self._resolve(name)
        if entry is None:
            self._diagnostics[name] = []
            unit = Unit(name=canonical, load_state=LoadState.NOT_FOUND,
                        load_error=f"Unit {canonical} not found.")
            unit.dropin_paths = self._dropins(canonical)
            return unit
        aliases = [a for a in self._names().aliases.get(canonical, []) if a != canonical]
        if entry.path is None or self._is_empty(entry.path):
            self._diagnostics[name] = []
            return Unit(name=canonical, load_state=LoadState.MASKED, aliases=aliases,
                        fragment_path=entry.path, load_error=f"Unit {canonical} is masked.")
        dropins = self._dropins(canonical, aliases)
        try:
            sources = [(entry.path, self._text(entry.path))] + [(p, self._text(p)) for p in dropins]
        except OSError as exc:  # unreadable or vanished since the directory scan
            self._diagnostics[name] = []
            return Unit(name=canonical, load_state=LoadState.ERROR, aliases=aliases,
                        fragment_path=entry.path, dropin_paths=dropins,
                        load_error=exc.strerror or str(exc))
        specifiers = LazySpecifiers(canonical, entry.path, self.host)
        unit, diags = interpret(canonical, sources, specifiers=specifiers, user_manager=self.user_manager,
                                release=self.release, wording=self.wording)
        unit.fragment_path = entry.path
        unit.dropin_paths = dropins
        unit.aliases = aliases
        if unit.load_state is LoadState.LOADED:
            self._add_wants_dirs(unit)
        self._diagnostics[name] = diags
        self._diagnostics[canonical] = diags
        return unit

    def load_all(self) -> dict[str, Unit]:
        """Every unit file found in the search path, by canonical name.

        Aliases are not repeated and templates (`foo@.service`) are left out: they are not
        units; see unit_files() for the full listing.
        """
        out: dict[str, Unit] = {}
        for nm, entry in sorted(self._names().entries.items()):
            if entry.alias_of is not None or unit_name.is_template(nm):
                continue
            out[nm] = self.load(nm)
        return out

    def unit_files(self) -> dict[str, str | None]:
        """Every unit-file name in the search path → its file (None: masked; for an alias the
        file of its target). For `list-unit-files`. # spec: unit-files.md §4.1–§4.2"""
        nm = self._names()
        out: dict[str, str | None] = {}
        for name, entry in sorted(nm.entries.items()):
            if entry.alias_of is not None:
                target = nm.entries.get(self._canonical(nm, name))
                out[name] = target.path if target else None
            else:
                out[name] = entry.path
        return out

    def find(self, name: str) -> tuple[str, str | None, bool]:
        """Where `name` comes from without parsing it: (canonical name, file, masked).

        The file is None when nothing is found; for a masked unit it is the masking entry.
        Templates are found too.
        """
        canonical, entry = self._resolve(name)
        if entry is None:
            return canonical, None, False
        if entry.path is None or self._is_empty(entry.path):
            return canonical, entry.source, True
        return canonical, entry.path, False

    def dropin_paths(self, name: str) -> list[str]:
        """The drop-in files of `name` (and its aliases) in application order."""
        canonical, _entry = self._resolve(name)
        aliases = [a for a in self._names().aliases.get(canonical, []) if a != canonical]
        return self._dropins(canonical, aliases)

    def diagnostics(self, name: str) -> list[Diagnostic]:
        """What the last load(name) reported, in systemd's order."""
        return list(self._diagnostics.get(name, []))

    def invalidate(self) -> None:
        """Forget cached listings (daemon-reload)."""
        self._map = None
        self._listing.clear()
        self._entries.clear()
        self._diagnostics.clear()

    @property
    def host(self) -> HostFacts:
        if self._host is None:
            self._host = collect_host_facts(self.user_manager)
        return self._host

    # --- name map -------------------------------------------------------------------------------

    def _list(self, directory: str) -> list[str]:
        if directory not in self._listing:
            parent, base = os.path.split(directory)
            # a sub-directory of a search path that its listing does not have: skip the syscall
            if parent in self._listing and base not in self._entries.get(parent, ()):
                self._listing[directory] = None
            else:
                try:
                    self._listing[directory] = sorted(os.listdir(directory))
                except OSError:
                    self._listing[directory] = None
        return self._listing[directory] or []

    def _names(self) -> _NameMap:
        """# systemd: unit_file_build_name_map()"""
        if self._map is not None:
            return self._map
        nm = _NameMap()
        search = set(self.search_paths)
        for directory in self.search_paths:
            try:
                with os.scandir(directory) as it:
                    dir_entries = sorted(it, key=lambda e: e.name)
            except OSError:
                dir_entries = []
            self._entries[directory] = frozenset(e.name for e in dir_entries)
            self._listing[directory] = [e.name for e in dir_entries]
            for de in dir_entries:
                fname = de.name
                if fname in nm.entries or not unit_name.is_valid(fname):
                    continue
                entry = self._entry(fname, de, search)
                if entry is not None:
                    entry.source = de.path
                    nm.entries[fname] = entry
        for entry in nm.entries.values():
            if entry.alias_of is not None:
                nm.aliases.setdefault(self._canonical(nm, entry.name), []).append(entry.name)
        self._map = nm
        return nm

    def _entry(self, fname: str, de: os.DirEntry[str], search: set[str]) -> _Entry | None:
        path = de.path
        if de.is_symlink():
            try:
                dest = os.readlink(path)
            except OSError:
                return None
            if os.path.normpath(dest) == "/dev/null":
                return _Entry(fname, None)
            target = self._link_target(path, dest)
            tname = os.path.basename(target)
            if os.path.dirname(target) in search and tname != fname and unit_name.is_valid(tname):
                if unit_name.instance(fname) and tname == unit_name.template_of(fname):
                    return _Entry(fname, target if os.path.exists(target) else None)
                if unit_name.unit_type(tname) != unit_name.unit_type(fname):
                    return None
                return _Entry(fname, None, alias_of=tname)
            real = self._chase(path)
            if real == "/dev/null":
                return _Entry(fname, None)
            if not os.path.isfile(real):
                return None
            return _Entry(fname, target)
        if de.is_file():
            return _Entry(fname, path)
        return None

    def _link_target(self, link: str, dest: str) -> str:
        """Where symlink `link` → `dest` points; an absolute `dest` lies under the root.
        # systemd: chase(CHASE_PREFIX_ROOT) in unit_file_build_name_map() with --root"""
        if os.path.isabs(dest) and self.root != "/":
            return os.path.normpath(os.path.join(self.root, dest.lstrip("/")))
        return os.path.normpath(os.path.join(os.path.dirname(link), dest))

    def _chase(self, path: str) -> str:
        """`path` with its symlinks followed, absolute ones re-rooted ("/dev/null" stays)."""
        if self.root == "/":
            return os.path.realpath(path)
        for _ in range(32):  # systemd's CHASE_MAX
            try:
                dest = os.readlink(path)
            except OSError:
                break  # not a symlink (or gone)
            if os.path.normpath(dest) == "/dev/null":
                return "/dev/null"
            path = self._link_target(path, dest)
        return path

    @staticmethod
    def _canonical(nm: _NameMap, name: str) -> str:
        seen: set[str] = set()
        while name in nm.entries and nm.entries[name].alias_of is not None and name not in seen:
            seen.add(name)
            name = nm.entries[name].alias_of or name
        return name

    def _resolve(self, name: str) -> tuple[str, _Entry | None]:
        """Canonical name and its entry; an instance falls back to its template's file."""
        nm = self._names()
        canonical = self._canonical(nm, name)
        entry = nm.entries.get(canonical)
        if entry is not None:
            return canonical, entry
        inst = unit_name.instance(canonical)
        if inst:
            template = unit_name.template_of(canonical)
            tcanon = self._canonical(nm, template)
            if tcanon != template:  # alias@.service -> real@.service: alias@i is real@i
                canonical = unit_name.replace_instance(tcanon, inst)
                explicit = nm.entries.get(canonical)
                if explicit is not None:
                    return canonical, explicit
            tentry = nm.entries.get(tcanon)
            if tentry is not None:
                return canonical, tentry
        return canonical, None

    # --- drop-ins ---------------------------------------------------------------------------------

    def _dropins(self, name: str, aliases: list[str] | None = None) -> list[str]:
        """Drop-in files in application order. # spec: unit-files.md §4.3"""
        dirs: list[str] = []
        for nm in [name, *(aliases or [])]:
            per_name = unit_name.dropin_dir_names(nm)
            type_dir = per_name.pop()  # "service.d": most generic, searched last
            for sp in self.search_paths:
                dirs.extend(os.path.join(sp, d) for d in per_name)
        for sp in self.search_paths:
            dirs.append(os.path.join(sp, f"{unit_name.unit_type(name)}.d"))
        del type_dir
        chosen: dict[str, str | None] = {}
        for d in dirs:
            for fname in self._list(d):
                if not fname.endswith(".conf") or fname in chosen:
                    continue
                path = os.path.join(d, fname)
                if os.path.islink(path) and self._chase(path) == "/dev/null":
                    chosen[fname] = None  # masks this basename everywhere
                elif os.path.isfile(path):
                    chosen[fname] = path
        return [chosen[f] for f in sorted(chosen) if chosen[f] is not None]  # type: ignore[misc]

    def _add_wants_dirs(self, unit: Unit) -> None:
        """`NAME.wants/`, `NAME.requires/`, `NAME.upholds/` symlinks become Wants=/Requires=/
        Upholds=. # spec: unit-files.md §4.2"""
        inst = unit_name.instance(unit.name)
        names = [unit.name, *unit.aliases]
        if inst:
            names.append(unit_name.template_of(unit.name))
        for suffix, lst in ((".wants", unit.unit.wants), (".requires", unit.unit.requires),
                            (".upholds", unit.unit.upholds)):
            for nm in names:
                for sp in self.search_paths:
                    for fname in self._list(os.path.join(sp, nm + suffix)):
                        if not unit_name.is_valid(fname):
                            continue
                        dep = fname
                        if unit_name.is_template(fname):
                            dep = unit_name.replace_instance(fname, inst or unit_name.prefix(unit.name))
                        if dep not in lst and dep != unit.name:
                            lst.append(dep)

    # --- files ------------------------------------------------------------------------------------

    @staticmethod
    def _text(path: str) -> str:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "surrogateescape")

    @staticmethod
    def _is_empty(path: str) -> bool:
        try:
            return os.path.getsize(path) == 0
        except OSError:
            return False
