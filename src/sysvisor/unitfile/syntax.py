"""The line grammar of unit files: a pure lexer from text to sections and assignments.

Port of systemd's config_parse()/parse_line() (src/shared/conf-parser.c): comments are lines
whose first non-blank character is `#` or `;` (there are no inline comments), a line ending in
an unescaped `\\` continues on the next line (the backslash becomes one space, comment lines in
between are skipped), whitespace around `=` is stripped, keys are case-sensitive. Which keys and
sections exist is not this module's business: it yields every assignment with its file:line.
# spec: unit-files.md §1
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sysvisor.unitfile.errors import Diagnostic, error, warning

LONG_LINE_MAX = 1024 * 1024  # systemd: LONG_LINE_MAX
_BOM = "\ufeff"
_WHITESPACE = " \t\n\r"
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Header:
    """A `[Section]` line."""

    name: str
    path: str
    line: int


@dataclass(frozen=True)
class Assignment:
    """One `Key=Value` line, already joined and stripped, in the section it appeared in."""

    section: str
    key: str
    value: str
    path: str
    line: int


@dataclass
class Lexed:
    """The result of lexing one file: items in file order, diagnostics, and a fatal error.

    `failure` is set (to the errno text systemd reports, e.g. "Bad message") when the file as a
    whole cannot be used; items before the failing line are still present.
    """

    items: list[Header | Assignment]
    diagnostics: list[Diagnostic]
    failure: str | None = None


def _ends_in_escape(text: str) -> bool:
    # systemd: the `escaped` scan in config_parse(): an odd run of trailing backslashes
    # continues the line, an even one (`\\\\`) is escaped backslashes.
    if not text.endswith("\\"):
        return False
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def lex(text: str, path: str) -> Lexed:
    """Split unit-file text into headers and assignments. Never raises.

    # spec: unit-files.md §1; systemd: config_parse(), parse_line()
    """
    out = Lexed([], [])
    section: str | None = None
    continuation: str | None = None
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    lineno = 0
    for lineno, raw in enumerate(lines, start=1):
        if lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if len(raw) > LONG_LINE_MAX:
            out.diagnostics.append(error(path, lineno, "Line too long"))
            out.failure = "Argument list too long"
            return out
        stripped = raw.lstrip(_WHITESPACE)
        if stripped and stripped[0] in "#;":
            continue
        if continuation is not None:
            if len(continuation) + len(raw) > LONG_LINE_MAX:
                out.diagnostics.append(error(path, lineno, "Continuation line too long"))
                out.failure = "Argument list too long"
                return out
            joined = continuation + raw
        else:
            joined = raw
        if _ends_in_escape(joined):
            continuation = joined[:-1] + " "
            continue
        continuation = None
        section = _parse_line(joined, path, lineno, section, out)
        if out.failure:
            return out
    if continuation is not None:  # systemd: parse_line(..., ++line, ...) after the loop
        _parse_line(continuation, path, lineno + 1, section, out)
    return out


def _parse_line(text: str, path: str, lineno: int, section: str | None, out: Lexed) -> str | None:
    """One logical line; returns the section in force afterwards. # systemd: parse_line()"""
    line = text.strip(_WHITESPACE)
    if not line:
        return section
    if _has_surrogates(line):
        out.diagnostics.append(warning(path, lineno, f"String is not UTF-8 clean, ignoring assignment: {_escape_non_utf8(line)}"))
        return section
    if line[0] == "[":
        if line[-1] != "]":
            out.diagnostics.append(error(path, lineno, f"Invalid section header '{line}'"))
            out.failure = "Bad message"
            return section
        name = line[1:-1]
        out.items.append(Header(name, path, lineno))
        return name
    if section is None:
        out.diagnostics.append(warning(path, lineno, "Assignment outside of section. Ignoring."))
        return section
    key, sep, value = line.partition("=")
    if not sep:
        out.diagnostics.append(warning(path, lineno, "Missing '=', ignoring line."))
        return section
    if not key:
        out.diagnostics.append(warning(path, lineno, "Missing key name before '=', ignoring line."))
        return section
    out.items.append(Assignment(section, key.strip(_WHITESPACE), value.strip(_WHITESPACE), path, lineno))
    return section


_SURROGATE = re.compile("[\udc80-\udcff]")


def _has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _escape_non_utf8(text: str) -> str:
    # systemd: utf8_escape_invalid() replaces each invalid byte with U+FFFD.
    return "".join("\ufffd" if "\udc80" <= ch <= "\udcff" else ch for ch in text)
