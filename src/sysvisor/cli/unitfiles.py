"""Verbs on unit files that work with no manager running, as systemctl's do in a Dockerfile:
enable, disable, is-enabled, mask, unmask, cat, list-unit-files.

When a manager is running they read its unit search path (so `sysvisor cat web` finds what
`sysvisor up --units DIR` loaded) and ask it to reload afterwards; otherwise they use
systemd's standard paths (system as root, user otherwise), under `--root` if given.
# spec: unit-files.md §4, §8; systemctl-and-journal.md §1
"""

from __future__ import annotations

import fnmatch
import os
import sys

from sysvisor.unitfile.install import SCOPE_DIRS, Installer
from sysvisor.unitfile.loader import UnitLoader, default_search_paths


class Context:
    """Where unit files live for this invocation and whether a manager is there to tell."""

    def __init__(self, args, manager_info: dict | None) -> None:
        self.root = os.path.abspath(args.root) if getattr(args, "root", None) else "/"
        self.user = bool(args.user) or (os.getuid() != 0 and not args.system)
        self.manager_info = manager_info if self.root == "/" else None
        self.enabled_dirs: list[str] = []
        if self.manager_info and self.manager_info.get("search_paths"):
            self.search_paths = list(self.manager_info["search_paths"])
            self.config_dir = self.search_paths[0]
            self.enabled_dirs = list(self.manager_info.get("enabled_dirs") or [])
        else:
            self.search_paths = None
            self.config_dir = None
        self.runtime = bool(getattr(args, "runtime", False))

    def installer(self) -> Installer:
        scope = "runtime" if self.runtime and not self.user else ("user" if self.user else "system")
        builtin = frozenset(self.manager_info.get("builtin_units") or ()) if self.manager_info else frozenset()
        return Installer(self.root, scope=scope, search_paths=self.search_paths, config_dir=self.config_dir,
                         enabled_dirs=self.enabled_dirs, builtin_units=builtin)

    def loader(self) -> UnitLoader:
        if self.search_paths is not None:
            return UnitLoader(self.search_paths)
        paths = default_search_paths(user=self.user)
        return UnitLoader([_rooted(self.root, p) for p in paths], root=self.root)

    def write_dir(self) -> str:
        """Where mask and edit write: the manager's first unit dir, else /etc (or /run with --runtime)."""
        if self.config_dir:
            return self.config_dir
        if self.user:
            base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
            return _rooted(self.root, os.path.join(base, "systemd", "user"))
        return _rooted(self.root, SCOPE_DIRS["runtime" if self.runtime else "system"])


def _rooted(root: str, path: str) -> str:
    return path if root == "/" else os.path.join(root, path.lstrip("/"))


def verb_enable(ctx: Context, names: list[str]) -> int:
    plan = ctx.installer().plan_enable(names)
    return _apply(plan)


def verb_disable(ctx: Context, names: list[str]) -> int:
    plan = ctx.installer().plan_disable(names)
    return _apply(plan)


def _apply(plan) -> int:
    """Carry out `plan` and say what was done, in systemctl's (257) words."""
    from sysvisor.unitfile.install import apply

    try:
        apply(plan)
    except OSError as e:
        print(f"Failed to apply changes: {e.strerror}: {e.filename}", file=sys.stderr)
        return 1
    for line in plan.lines():
        print(line, file=sys.stderr)
    return plan.rc


def verb_is_enabled(ctx: Context, names: list[str], quiet: bool) -> int:
    from sysvisor.cli.listing import is_enabled_exit_code, render_is_enabled

    installer = ctx.installer()
    states = [installer.state(name) or "not-found" for name in names]
    if not quiet:
        sys.stdout.write(render_is_enabled((state, ()) for state in states))
    return is_enabled_exit_code(states)


def verb_mask(ctx: Context, names: list[str]) -> int:
    """A symlink to /dev/null in the config directory. # spec: unit-files.md §4.3"""
    from sysvisor.unitfile.install import Change

    directory = ctx.write_dir()
    loader = None
    rc = 0
    for name in names:
        path = os.path.join(directory, name)
        if os.path.islink(path) and os.readlink(path) == "/dev/null":
            continue
        if os.path.lexists(path):
            print(f"Failed to mask unit: File '{path}' already exists", file=sys.stderr)
            rc = 1
            continue
        loader = loader or ctx.loader()
        if loader.find(name)[1] is None:
            print(f"Unit {name} does not exist, proceeding anyway.", file=sys.stderr)
        try:
            os.makedirs(directory, exist_ok=True)
            os.symlink("/dev/null", path)
        except OSError as e:
            print(f"Failed to mask unit: {e.strerror}", file=sys.stderr)
            rc = 1
            continue
        print(Change("symlink", path, "/dev/null").message(), file=sys.stderr)
    return rc


def verb_unmask(ctx: Context, names: list[str]) -> int:
    from sysvisor.unitfile.install import Change

    directory = ctx.write_dir()
    for name in names:
        path = os.path.join(directory, name)
        if os.path.islink(path) and os.readlink(path) == "/dev/null":
            os.unlink(path)
            print(Change("unlink", path).message(), file=sys.stderr)
    return 0


def verb_cat(ctx: Context, names: list[str]) -> int:
    """The fragment, then each drop-in, each headed by `# PATH`. # systemd: systemctl-cat.c"""
    loader = ctx.loader()
    rc = 0
    first = True
    for name in names:
        unit = loader.load(name)
        if unit.fragment_path is None and not unit.dropin_paths:
            if str(unit.load_state) == "masked":
                print(f"Unit {name} is masked.", file=sys.stderr)
            else:
                print(f"No files found for {name}.", file=sys.stderr)
            rc = 1
            continue
        for path in ([unit.fragment_path] if unit.fragment_path else []) + list(unit.dropin_paths):
            if not first:
                print()
            first = False
            print(f"# {path}")
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError as e:
                print(f"Failed to read {path}: {e.strerror}", file=sys.stderr)
                rc = 1
                continue
            sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return rc


def verb_list_unit_files(ctx: Context, patterns: list[str], legend: bool, states: list[str]) -> int:
    from sysvisor.cli.listing import render_list_unit_files

    from sysvisor.unitfile.preset import NO_PRESET_STATES, preset_of, read_rules

    loader = ctx.loader()
    installer = ctx.installer()
    rules = read_rules(ctx.root, user=ctx.user)
    rows = []
    for name in sorted(loader.unit_files()):
        if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        state = installer.state(name) or "bad"
        if states and state not in states:
            continue
        rows.append((name, state, None if state in NO_PRESET_STATES else preset_of(name, rules)))
    sys.stdout.write(render_list_unit_files(rows, legend=legend, color=sys.stdout.isatty()))
    return 0 if rows else 1


EDIT_HEAD = """### Editing {path}
### Anything between here and the comment below will become the contents of the drop-in file

"""
EDIT_TAIL = """
### Edits below this comment will be discarded
"""
_EDITORS = ("editor", "nano", "vim", "vi")


def _run_editor(path: str) -> int | None:
    """The editor's exit status on `path`, or None (said why) when none could be run: the
    one the environment names, else the first of _EDITORS there is; one that does not exist
    is skipped. # systemd: run_editor()"""
    import shlex
    import subprocess

    chosen = next((os.environ[v] for v in ("SYSTEMD_EDITOR", "EDITOR", "VISUAL") if os.environ.get(v)), None)
    candidates = ([chosen] if chosen else []) + list(_EDITORS)
    for editor in candidates:
        try:
            argv = shlex.split(editor)
        except ValueError:
            argv = editor.split()
        if not argv:
            continue
        try:
            return subprocess.run([*argv, path]).returncode
        except FileNotFoundError:
            continue  # (systemd tries the next one too)
        except OSError as e:
            print(f"Failed to execute {argv[0]}: {e.strerror}", file=sys.stderr)
            return None
    print("Cannot edit files, no editor available. Please set either $SYSTEMD_EDITOR, $EDITOR or $VISUAL.", file=sys.stderr)
    return None


def verb_edit(ctx: Context, names: list[str], *, full: bool, force: bool) -> int:
    """Open $SYSTEMD_EDITOR/$EDITOR/$VISUAL on a drop-in (or with --full a copy of the whole
    unit) and write it only if the editor succeeded and left something.
    # spec: systemctl-and-journal.md §1 (edit); systemd: systemctl-edit.c"""
    import tempfile

    loader = ctx.loader()
    directory = ctx.write_dir()
    rc = 0
    for name in names:
        unit = loader.load(name)
        if unit.fragment_path is None and not force:
            print(f"Unit {name} not found, cannot edit. Use --force to create it.", file=sys.stderr)
            rc = 1
            continue
        target = os.path.join(directory, name) if full else os.path.join(directory, name + ".d", "override.conf")
        current = ""
        source = target if os.path.exists(target) else (unit.fragment_path if full else None)
        if source:
            with open(source, errors="replace") as f:
                current = f.read()
        context = ""
        if not full:
            for path in ([unit.fragment_path] if unit.fragment_path else []) + [p for p in unit.dropin_paths if p != target]:
                with open(path, errors="replace") as f:
                    context += f"\n### {path}\n" + "".join("# " + line if line.strip() else "#\n" for line in f.read().splitlines(True))
        text = (EDIT_HEAD.format(path=target) + current + EDIT_TAIL + context) if not full else current
        with tempfile.NamedTemporaryFile("w", suffix=".conf", prefix=f".#{name}", delete=False) as tmp:
            tmp.write(text)
        try:
            returncode = _run_editor(tmp.name)
            if returncode is None:
                rc = 1
                break
            if returncode != 0:
                print(f"Editor failed; {target} left unchanged.", file=sys.stderr)
                rc = 1
                continue
            with open(tmp.name) as f:
                edited = f.read()
        finally:
            os.unlink(tmp.name)
        if not full:
            edited = edited.split(EDIT_TAIL, 1)[0]
            if edited.startswith(EDIT_HEAD.format(path=target)):
                edited = edited[len(EDIT_HEAD.format(path=target)):]
        edited = edited.strip("\n") + "\n" if edited.strip() else ""
        if not edited:
            print(f'Editing "{target}" canceled: temporary file is empty.', file=sys.stderr)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target + ".tmp", "w") as f:
            f.write(edited)
        os.replace(target + ".tmp", target)
        print(f"Successfully installed edited file '{target}'.", file=sys.stderr)
    return rc
