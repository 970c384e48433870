"""Colour, hyperlink and glyph decisions; byte sizes; table layout."""

from __future__ import annotations

from sysvisor.cli.format import (
    Style,
    colors_enabled,
    format_bytes,
    format_table,
    locale_is_utf8,
    underlined,
    urlify_enabled,
)


def test_colors_follow_systemds_rules() -> None:
    assert not colors_enabled({}, False, False)
    assert colors_enabled({"TERM": "xterm"}, True, True)
    assert not colors_enabled({"TERM": "dumb"}, True, True)
    assert not colors_enabled({"TERM": "xterm"}, True, False)  # stderr redirected
    assert not colors_enabled({"TERM": "xterm", "NO_COLOR": ""}, True, True)
    assert colors_enabled({"SYSTEMD_COLORS": "1"}, False, False)
    assert colors_enabled({"SYSTEMD_COLORS": "256"}, False, False)
    assert not colors_enabled({"SYSTEMD_COLORS": "no", "TERM": "xterm"}, True, True)
    assert colors_enabled({"NO_COLOR": "1"}, False, False, "always")
    assert not colors_enabled({"SYSTEMD_COLORS": "1"}, True, True, "never")


def test_urlify_and_utf8() -> None:
    assert urlify_enabled({}, True, False)
    assert not urlify_enabled({}, True, True)
    assert urlify_enabled({"SYSTEMD_URLIFY": "yes"}, False, True)
    assert locale_is_utf8({})
    assert locale_is_utf8({"LANG": "C"})
    assert locale_is_utf8({"LANG": "de_DE.UTF-8"})
    assert not locale_is_utf8({"LC_ALL": "en_US.ISO-8859-1", "LANG": "en_US.UTF-8"})
    assert not locale_is_utf8({"SYSTEMD_UTF8": "0"})


def test_format_bytes() -> None:
    assert format_bytes(512) == "512B"
    assert format_bytes(4096) == "4.0K"
    assert format_bytes(22_400_000) == "21.3M"
    assert format_bytes(3 * 1024**3 + 1024**3 // 2) == "3.5G"


def test_table_and_underline() -> None:
    st = Style()
    assert format_table(["A", "BB"], [["xyz", "1"], ["x", "22"]], st, right=frozenset({1})) == [
        "A   BB",
        "xyz  1",
        "x   22",
    ]
    assert underlined("") == "\x1b[0;4m"
    assert underlined("\x1b[0;1;31m") == "\x1b[0;1;4;31m"
    assert underlined("\x1b[0;38:5:245m") == "\x1b[0;4;38:5:245m"
