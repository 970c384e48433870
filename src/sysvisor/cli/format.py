"""Terminal vocabulary shared by the CLI renderers: glyphs, colours, byte sizes.

Ported from systemd's src/basic/glyph-util.c, ansi-color.h and format-util.c
(`format_bytes()`). Stdlib only.
# spec: systemctl-and-journal.md §3 (glyphs and colours)
"""

from __future__ import annotations

TYPE_CHECKING = False  # annotations only: `status` imports this module, and collections costs it ~2 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

# systemd: ansi-color.h
ANSI_NORMAL = "\x1b[0m"
ANSI_HIGHLIGHT = "\x1b[0;1;39m"
ANSI_HIGHLIGHT_RED = "\x1b[0;1;31m"
ANSI_HIGHLIGHT_GREEN = "\x1b[0;1;32m"
ANSI_HIGHLIGHT_CYAN = "\x1b[0;1;36m"
# systemd 257 writes 256-colour codes with colons (observed with SYSTEMD_COLORS=1)
ANSI_HIGHLIGHT_YELLOW = "\x1b[0;1;38:5:185m"
ANSI_GREY = "\x1b[0;38:5:245m"
ANSI_UNDERLINE = "\x1b[4m"

# systemd: special_glyph(), UTF-8 and ASCII forms
GLYPHS_UTF8 = {
    "black-circle": "●",
    "white-circle": "○",
    "multiplication-sign": "×",
    "circle-arrow": "↻",
    "tree-branch": "├─",
    "tree-right": "└─",
    "tree-vertical": "│ ",
    "arrow-right": "→",
}
GLYPHS_ASCII = {
    "black-circle": "*",
    "white-circle": "o",
    "multiplication-sign": "x",
    "circle-arrow": "<->",
    "tree-branch": "|-",
    "tree-right": "`-",
    "tree-vertical": "| ",
    "arrow-right": "->",
}

# systemd: unit_active_state_to_glyph()
_STATE_GLYPH = {
    "active": "black-circle",
    "reloading": "circle-arrow",
    "refreshing": "circle-arrow",
    "inactive": "white-circle",
    "failed": "multiplication-sign",
    "activating": "black-circle",
    "deactivating": "black-circle",
    "maintenance": "white-circle",
}


class Style:
    """Whether to draw colours, UTF-8 glyphs and hyperlinks; every renderer takes one.

    `urlify_host`: with colours, paths and URLs become OSC-8 hyperlinks as systemd draws
    them (`file://HOST/path`); None disables links.
    """

    def __init__(self, color: bool = False, utf8: bool = True, urlify_host: str | None = None) -> None:
        self.color = color
        self.utf8 = utf8
        self.urlify_host = urlify_host if color else None

    def link(self, url: str, text: str | None = None) -> str:
        """`text` as a hyperlink to `url`. # systemd: terminal_urlify()"""
        if self.urlify_host is None:
            return text if text is not None else url
        return f"\x1b]8;;{url}\x1b\\{text if text is not None else url}\x1b]8;;\x1b\\"

    def link_path(self, path: str, text: str | None = None) -> str:
        """A file path as a `file://HOST/path` hyperlink. # systemd: terminal_urlify_path()"""
        if self.urlify_host is None:
            return text if text is not None else path
        return self.link(f"file://{self.urlify_host}{path}", text if text is not None else path)

    def glyph(self, name: str) -> str:
        return (GLYPHS_UTF8 if self.utf8 else GLYPHS_ASCII)[name]

    def paint(self, text: str, ansi: str) -> str:
        """`text` wrapped in `ansi` … normal, or as is without colour."""
        if not self.color or not ansi:
            return text
        return f"{ansi}{text}{ANSI_NORMAL}"

    def on(self, ansi: str) -> str:
        return ansi if self.color else ""

    def off(self, ansi: str) -> str:
        return ANSI_NORMAL if self.color and ansi else ""


def active_state_glyph(state: str | None) -> str:
    """Glyph name for an ActiveState. # systemd: unit_active_state_to_glyph()"""
    return _STATE_GLYPH.get(state or "", "black-circle")


def unit_file_state_color(state: str | None) -> str:
    """Colour of UnitFileState=/UnitFilePreset= in `Loaded:` (observed systemd 257)."""
    if state in ("enabled", "enabled-runtime"):
        return ANSI_HIGHLIGHT_GREEN
    if state in ("disabled", "masked", "masked-runtime", "bad"):
        return ANSI_HIGHLIGHT_YELLOW
    return ""


def active_state_color(state: str | None) -> str:
    """Colour of an ActiveState: red failed, green active/reloading. # systemd: format_active_state()"""
    if state == "failed":
        return ANSI_HIGHLIGHT_RED
    if state in ("active", "reloading"):
        return ANSI_HIGHLIGHT_GREEN
    return ""


_IEC = (("E", 1024**6), ("P", 1024**5), ("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024))


def format_bytes(n: int) -> str:
    """`21.3M`, `4.0K`, `512B`: systemd's format_bytes() (IEC, one truncated decimal)."""
    for i, (suffix, factor) in enumerate(_IEC):
        if n >= factor:
            if i != len(_IEC) - 1:
                digit = (n // _IEC[i + 1][1] * 10 // _IEC[-1][1]) % 10
            else:
                digit = (n * 10 // factor) % 10
            return f"{n // factor}.{digit}{suffix}"
    return f"{n}B"


def underlined_grey(ansi: str) -> str:
    """A colour plus a grey underline, as list-units marks type groups (observed v257)."""
    return ansi + "\x1b[4m\x1b[58:5:245m"


def underlined(ansi: str) -> str:
    """The underlined variant of a colour code (systemd: ansi_add_underline())."""
    if not ansi:
        return "\x1b[0;4m"
    if ansi.startswith("\x1b[0;1;"):
        return "\x1b[0;1;4;" + ansi[len("\x1b[0;1;") :]
    if ansi.startswith("\x1b[0;"):
        return "\x1b[0;4;" + ansi[len("\x1b[0;") :]
    return ansi


def format_table(
    header: list[str] | None,
    rows: list[list[str]],
    st: Style,
    colors: list[list[str]] | None = None,
    right: frozenset[int] = frozenset(),
    *,
    gap_colors: list[list[str]] | None = None,
    underline_rows: frozenset[int] = frozenset(),
    underline: Callable[[str], str] | None = None,
) -> list[str]:
    """Lines of a systemctl table (systemd's format-table.c as the list verbs use it).

    Columns are as wide as their widest cell and separated by one blank; `right` columns are
    right-aligned. The last column is padded only when it is drawn in colour. With colour,
    header cells and gaps are underlined, a cell's colour covers its padding, `gap_colors`
    colours the blank right of a cell (systemd's rgap colour) and `underline_rows`
    underline whole rows (the last unit of each type) with `underline` (default
    `underlined`, list-units uses `underlined_grey`).
    """
    add_underline = underline or underlined
    all_rows = ([header] if header is not None else []) + rows
    if not all_rows:
        return []
    n = len(all_rows[0])
    widths = [max(len(r[i]) for r in all_rows) for i in range(n)]

    def pad(i: int, cell: str, last_too: bool) -> str:
        if i == n - 1 and not last_too and i not in right:
            return cell
        return cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])

    lines = []
    if header is not None:
        if st.color:
            sep = f"{ANSI_UNDERLINE} {ANSI_NORMAL}"
            lines.append(sep.join(f"{ANSI_UNDERLINE}{pad(i, c, True)}{ANSI_NORMAL}" for i, c in enumerate(header)))
        else:
            lines.append(" ".join(pad(i, c, False) for i, c in enumerate(header)))
    for r, row in enumerate(rows):
        parts = []
        under = st.color and r in underline_rows
        for i, c in enumerate(row):
            color = colors[r][i] if colors and st.color else ""
            if under:
                color = add_underline(color)
            if i > 0:
                gap = gap_colors[r][i - 1] if gap_colors and st.color else ""
                if under:
                    gap = add_underline(gap)
                parts.append(st.paint(" ", gap))
            parts.append(st.paint(pad(i, c, bool(color)), color))
        lines.append("".join(parts))
    return lines


_TRUE = {"1", "yes", "y", "true", "t", "on"}
_FALSE = {"0", "no", "n", "false", "f", "off"}


def _env_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def colors_enabled(
    env: Mapping[str, str], stdout_isatty: bool, stderr_isatty: bool, color_arg: str | None = None
) -> bool:
    """Whether to draw colours, as systemd decides (terminal-util.c get_color_mode()).

    `color_arg` is an explicit `--color=always|never|auto`. Then `SYSTEMD_COLORS` (a boolean
    or `16`/`256`/`24bit`), then `NO_COLOR`, then a terminal on stdout and stderr that is not
    `TERM=dumb`.
    """
    if color_arg in ("always", "yes"):
        return True
    if color_arg in ("never", "no"):
        return False
    sc = env.get("SYSTEMD_COLORS")
    if sc is not None:
        b = _env_bool(sc)
        if b is not None:
            return b
        if sc in ("16", "256", "24bit"):
            return True
    if "NO_COLOR" in env:
        return False
    if not (stdout_isatty and stderr_isatty):
        return False
    return env.get("TERM", "") not in ("", "dumb")


def urlify_enabled(env: Mapping[str, str], colors: bool, pager: bool) -> bool:
    """Hyperlinks: `SYSTEMD_URLIFY`, else with colours when no pager runs. # systemd: urlify_enabled()"""
    b = _env_bool(env.get("SYSTEMD_URLIFY"))
    if b is not None:
        return b
    return colors and not pager


def locale_is_utf8(env: Mapping[str, str]) -> bool:
    """UTF-8 glyphs (● ○ × └─) or ASCII ones (* o x `-). # systemd: is_locale_utf8()

    `SYSTEMD_UTF8` decides if set; an unset, `C` or `POSIX` locale counts as UTF-8 capable
    (systemd's rule since everything can do UTF-8); otherwise the codeset must be UTF-8.
    """
    b = _env_bool(env.get("SYSTEMD_UTF8"))
    if b is not None:
        return b
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(var)
        if value:
            if value in ("C", "POSIX"):
                return True
            codeset = value.partition(".")[2].partition("@")[0].lower().replace("-", "")
            return codeset == "utf8"
    return True


def ellipsize(line: str, columns: int) -> str:
    """Cut `line` to `columns` characters with a trailing `…`. # systemd: ellipsize()"""
    if len(line) <= columns or columns < 1:
        return line
    return line[: columns - 1] + "…"


def unit_sort_key(name: str) -> tuple[str, str]:
    """list-units order: by unit type suffix, then name, both case-insensitive.

    # systemd: systemctl-util.c unit_info_compare()
    """
    _base, _, suffix = name.rpartition(".")
    return suffix.lower(), name.lower()


def type_group_ends(units: Sequence[Mapping[str, object]]) -> frozenset[int]:
    """Rows after which the unit type changes: systemd underlines them to separate types."""
    suffixes = [str(u.get("Id", "")).rpartition(".")[2] for u in units]
    return frozenset(i for i in range(len(suffixes) - 1) if suffixes[i] != suffixes[i + 1])
