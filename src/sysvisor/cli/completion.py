"""`sysvisor completion bash|zsh`: shell completion for verbs, options and unit names.

Unit names come from the running manager (`list-units --all --plain --no-legend`), so they
are whatever is loaded right now.
"""

from __future__ import annotations

import sys

VERBS = (
    "up status show cat is-active is-failed is-enabled start stop restart try-restart reload "
    "reload-or-restart try-reload-or-restart kill reset-failed list-units list-unit-files list-timers "
    "list-dependencies isolate enable disable mask unmask daemon-reload daemon-reexec edit logs journal "
    "simulate verify calendar install-shims completion exit poweroff reboot halt kexec soft-reboot"
).split()
OPTIONS = "--no-block --no-pager --no-legend --plain --quiet --all --full --property --value --lines --output --signal --kill-whom --job-mode --state --type --failed --socket --user --system --now".split()

_BASH = """# bash completion for sysvisor (and its systemctl shim)
_sysvisor() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "%(options)s" -- "$cur"))
    elif [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "%(verbs)s" -- "$cur"))
    else
        local units
        units=$(sysvisor list-units --all --plain --no-legend 2>/dev/null | awk '{print $1}')
        COMPREPLY=($(compgen -W "$units" -- "$cur"))
    fi
}
complete -F _sysvisor sysvisor
"""

_ZSH = """#compdef sysvisor
# zsh completion for sysvisor
_sysvisor() {
    if (( CURRENT == 2 )); then
        compadd -- %(verbs)s
    elif [[ $words[CURRENT] == -* ]]; then
        compadd -- %(options)s
    else
        compadd -- ${(f)"$(sysvisor list-units --all --plain --no-legend 2>/dev/null | awk '{print $1}')"}
    fi
}
compdef _sysvisor sysvisor
"""


def script(shell: str) -> str:
    """The completion script for `shell` (bash or zsh)."""
    template = {"bash": _BASH, "zsh": _ZSH}[shell]
    return template % {"verbs": " ".join(VERBS), "options": " ".join(OPTIONS)}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("bash", "zsh"):
        print("usage: sysvisor completion bash|zsh   (e.g. eval \"$(sysvisor completion bash)\")", file=sys.stderr)
        return 1
    sys.stdout.write(script(argv[0]))
    return 0
