"""Unit files: a pure parser (syntax, values, schema, interpreter) and one loader for the file
system (search paths, aliases, masks, templates, drop-ins), plus verify and enable/disable.

Public API:
  UnitLoader(search_paths, host=None, user_manager=False, release=257, wording=252)
      .load(name) -> Unit            never raises; load_state/load_error say what went wrong
      .load_all() -> dict[str, Unit] every unit (not templates, not aliases)
      .diagnostics(name) -> list[Diagnostic]
      .unit_files(), .find(name), .dropin_paths(name), .invalidate()
  default_search_paths(user) -> list[str]
  verify(paths) -> (lines, rc)       systemd-analyze verify
  Installer(root).plan_enable/plan_disable/state, apply(plan)
  Diagnostic(path, line, column, severity, message); str() is systemd's `PATH:LINE: message`
# spec: unit-files.md
"""

from sysvisor.unitfile.errors import Diagnostic
from sysvisor.unitfile.loader import UnitLoader, default_search_paths

__all__ = ["Diagnostic", "UnitLoader", "default_search_paths"]
