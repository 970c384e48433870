"""`$VAR`/`${VAR}` expansion of Exec*= command lines, right before a spawn.

Rules (systemd: src/basic/env-util.c `replace_env_argv()` and `replace_env_full()` with
flags 0, the call made by exec_invoke()):

* A word that *starts* with `$` followed by neither `{` nor `$` is a whole-word reference:
  the rest of the word is the variable name. A set variable's value is split at whitespace
  with quotes honoured and removed (`extract_first_word(EXTRACT_RELAX|EXTRACT_UNQUOTE)`) into
  0..n arguments; an unset variable gives no argument; an invalid name (`$FOO.bar`, `$1X`,
  a lone `$`) also gives no argument and is reported as a bad variable.
* Anywhere else, `${NAME}` is replaced by the exact value (empty when unset, or when NAME is
  not a valid name) and `$$` by `$`. Everything else stays literal: `--x=$FOO`, `pre$`,
  `${A:-b}` (extended syntax is not enabled for command lines), an unterminated `${A`.
* Every word of argv is expanded, argv[0] included (it differs from the program path only
  with the `@` prefix); the program path itself is never expanded.
* The `:` prefix turns all of this off.

This module is pure: the environment comes in as a dict.
# spec: service-lifecycle.md §5.3
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sysvisor.core.units import ExecCommand

WHITESPACE = " \t\n\r"  # systemd's WHITESPACE
_NAME_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


def env_name_is_valid(name: str) -> bool:
    """Bash's rule for variable names. # systemd: env_name_is_valid()"""
    return bool(name) and not name[0].isdigit() and all(c in _NAME_CHARS for c in name)


@dataclass(frozen=True)
class Expansion:
    """The result of expanding one command line.

    `path` is what to execve() (not yet searched for plain names), `argv` the arguments
    (argv[0] first). `unset_variables`/`bad_variables` are sorted unique names, for the
    warnings systemd logs (see `expansion_warnings`).
    """

    path: str
    argv: list[str]
    unset_variables: list[str] = field(default_factory=list)
    bad_variables: list[str] = field(default_factory=list)


def split_value(value: str) -> list[str]:
    """Split a variable's value as a whole-word `$VAR` does.

    Whitespace separates, quotes are honoured and removed, a backslash makes the next
    character literal; unbalanced quotes and a trailing backslash are tolerated (RELAX).
    # systemd: strv_split_full(WHITESPACE, EXTRACT_RELAX|EXTRACT_UNQUOTE), extract_first_word()
    """
    words: list[str] = []
    i, n = 0, len(value)
    while True:
        while i < n and value[i] in WHITESPACE:
            i += 1
        if i >= n:
            return words
        word: list[str] = []
        quote = ""
        while i < n:
            c = value[i]
            if c == "\\":
                if i + 1 < n:
                    word.append(value[i + 1])
                i += 2
                continue
            if quote:
                if c == quote:
                    quote = ""
                else:
                    word.append(c)
            elif c in "'\"":
                quote = c
            elif c in WHITESPACE:
                break
            else:
                word.append(c)
            i += 1
        words.append("".join(word))


def replace_env(word: str, env: dict[str, str], unset: set[str], bad: set[str]) -> str:
    """Expand `${NAME}` and `$$` inside one word; everything else stays literal.

    # systemd: replace_env_full() with flags 0 (no braceless, no `:-`/`:+`)
    """
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = word[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt != "{":
            out.append(c)
            i += 1
            continue
        # scan "${NAME}"; a ':' before '}' means unsupported syntax: keep it literal
        j = i + 2
        while j < n and word[j] not in "}:":
            j += 1
        if j >= n or word[j] == ":":
            # systemd keeps the text from '$' up to here and goes on scanning after the ':'
            out.append(word[i:j])
            i = j
            continue
        name = word[i + 2 : j]
        if env_name_is_valid(name):
            value = env.get(name)
            if value is None:
                unset.add(name)
                value = ""
        else:
            bad.add(name)
            value = ""
        out.append(value)
        i = j + 1
    return "".join(out)


def expand_argv_full(command: ExecCommand, env: dict[str, str]) -> Expansion:
    """Expand a command line against `env`, reporting unset and invalid names.

    # spec: service-lifecycle.md §5.3; systemd: replace_env_argv()
    """
    if command.no_env_expand:
        return Expansion(command.path, list(command.argv))
    argv: list[str] = []
    unset: set[str] = set()
    bad: set[str] = set()
    for word in command.argv:
        if word.startswith("$") and word[1:2] not in ("{", "$"):
            name = word[1:]
            if not env_name_is_valid(name):
                bad.add(name)
            elif name in env:
                argv.extend(split_value(env[name]))
            else:
                unset.add(name)
            continue
        argv.append(replace_env(word, env, unset, bad))
    return Expansion(command.path, argv, sorted(unset), sorted(bad))


def expand_argv(command: ExecCommand, env: dict[str, str]) -> tuple[str, list[str]]:
    """(path, argv) to exec for `command` under `env`. # spec: service-lifecycle.md §5.3"""
    result = expand_argv_full(command, env)
    return result.path, result.argv


def expansion_warnings(result: Expansion) -> list[str]:
    """The warnings systemd logs for the unit before exec (v252+ wording).

    # systemd: exec_invoke() after replace_env_argv()
    """
    lines = []
    if result.unset_variables:
        lines.append(
            "Referenced but unset environment variable evaluates to an empty string: "
            + ", ".join(result.unset_variables)
        )
    if result.bad_variables:
        lines.append(
            "Invalid environment variable name evaluates to an empty string: "
            + ", ".join(result.bad_variables)
        )
    return lines
