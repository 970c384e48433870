"""Plain constants shared by the engine and the CLI: time units and the exec command phases.

A module of its own, without imports, so that `status` and the other hot CLI verbs use them
without loading the engine's enums (core/types.py re-exports them; ~6 ms of each call).
# spec: service-lifecycle.md (exec commands); systemd: USEC_INFINITY, service_exec_command_table"""

USEC_PER_SEC = 1_000_000
USEC_PER_MSEC = 1_000
USEC_INFINITY = (1 << 64) - 1  # systemd's USEC_INFINITY

# Exec command list names, in systemd's order (service_exec_command_table); also the
# Exec*= properties `show` prints.
EXEC_PHASES = ("ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload",
               "ExecStop", "ExecStopPost")
