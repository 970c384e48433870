"""Unit files: a pure parser (syntax, values, setting, schema, interpreter) and one loader for the
file system (search paths, aliases, masks, templates, drop-ins), plus verify and enable/disable.

Public API:
  UnitLoader(search_paths, host=None, user_manager=False, release=257, wording=252)
      .load(name) -> Unit            never raises; load_state/load_error say what went wrong
      .load_all() -> dict[str, Unit] every unit (not templates, not aliases)
      .diagnostics(name) -> list[Diagnostic]   what the last load(name) reported
      .unit_files(), .find(name), .dropin_paths(name), .invalidate()
  default_search_paths(user) -> list[str]
  verify.verify(paths) -> (lines, rc)           systemd-analyze verify, same words
  install.Installer(root).plan_enable/plan_disable/state, install.apply(plan)
  Diagnostic(path, line, column, severity, message); str() is systemd's `PATH:LINE: message`
  (`UNIT: message` when line is 0, the bare message when path is empty).

`release` picks the directive set and load checks (257: what sysvisor follows; 252: the
systemd-analyze installed here); `wording` picks message texts (v252's by default, as the spec
quotes them; 257 prints e.g. `Failed to parse Restart=x, ignoring: Invalid argument`).
Severities: "warning" (systemd prints it, the line is ignored), "error" (fatal: bad-setting),
"notice" (sysvisor only, e.g. `ProtectSystem= is not supported by sysvisor, ignoring.`).
# spec: unit-files.md
"""

__all__ = ["Diagnostic", "UnitLoader", "default_search_paths"]


def __getattr__(attr: str):
    # loaded when first asked for: the CLI imports unitfile.name (unit names, ~0.1 ms) on
    # its hot verbs, and must not pay for the parser (~45 ms)
    if attr == "Diagnostic":
        from sysvisor.unitfile.errors import Diagnostic

        return Diagnostic
    if attr in ("UnitLoader", "default_search_paths"):
        from sysvisor.unitfile import loader

        return getattr(loader, attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
