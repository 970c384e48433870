"""Random unit files from the directive table and a pool of tricky values (for differential tests)."""

import random

from sysvisor.unitfile.known import is_known
from sysvisor.unitfile.schema import DIRECTIVES

VALUES = [
    "", "yes", "no", "5", "5s", "1min 30", "infinity", "0", "-1", "x", "on-failure", "always", "/bin/true",
    "true", "-/bin/false", "@/bin/sh sh -c 'x'", '"quoted', "a\\qb", "SIGTERM", "TERM", "99", "foo.service",
    "bad!name.service", "%n", "%Z", "A=1", "1A=2", "man:foo(1)", "file:/x", "journal", "null", "tty", "notify",
    "main", "mixed", "0755", "1024:2048", "2048:1024", "on-abort", "oneshot", "forking", "exec", "idle",
    "control-group", "process", "none", "exit", "reboot", "fail", "replace", "isolate", "1 2 SIGKILL", "TEMPFAIL",
    "300", "root", "nobody", "/tmp", "rel/path", "~", "-5", "20", "+3", "10K", "1G", "append:/tmp/x",
    "file:rel", "fd:name", "data", "kmsg+console", "syslog", "a.service b.target", "a@.service", "%i",
    "http://x", "/bin/echo $FOO ${BAR} $$", "/bin/echo a ; /bin/echo b", "/bin/echo \\;", "!/bin/x", "+/bin/x",
    "!!/bin/x", "+!/bin/x", "-", "@", ":/bin/x", "|/etc", "!/etc", "|!/etc", "5Min", "1h30", ".5", "5.", "1e3",
    "abort", "terminate", "kill", "0x10", "010", "yes # c", "A=\"b c\" D='e f'", "-/etc/env", "/etc/env",
    "1G 512M", "512M 1G", "a.b", "ro:ot", "-%Z", "%p-%i", "x\\", "'single'", "\\x41", "SIGRTMIN+1", "65535",
]


def directive_keys(release=252):
    return [(s, k) for (s, k), d in DIRECTIVES.items()
            if s in ("Unit", "Service", "Install") and is_known(s, k, release) and d.kind != "deprecated_cgroup"]


def random_unit(rnd: random.Random, keys) -> str:
    lines = {"Unit": [], "Service": [], "Install": []}
    for _ in range(rnd.randint(1, 8)):
        section, key = rnd.choice(keys)
        lines[section].append(f"{key}={rnd.choice(VALUES)}")
    if rnd.random() < 0.7:
        lines["Service"].insert(0, "ExecStart=/bin/true")
    text = ""
    for section in ("Unit", "Service", "Install"):
        if lines[section] or rnd.random() < 0.3:
            text += f"[{section}]\n" + "".join(line + "\n" for line in lines[section])
    return text
