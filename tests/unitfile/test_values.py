"""Value grammars. # spec: unit-files.md §1.1–§1.4; service-lifecycle.md §5"""

import pytest

from sysvisor.core.types import USEC_INFINITY
from sysvisor.unitfile import values as v

S = 1_000_000


@pytest.mark.parametrize("text,usec", [
    ("5", 5 * S), ("1min 30s", 90 * S), ("1min30s", 90 * S), ("30 1min", 90 * S), ("1min30", 90 * S),
    ("1h30", 3600 * S + 30 * S), ("1.5h", 5400 * S), (".5", S // 2), ("1s 1s", 2 * S), ("2 h", 7200 * S),
    ("5 hours", 5 * 3600 * S), ("48hr", 48 * 3600 * S), ("5M", 5 * 2_629_800 * S), ("5m", 300 * S),
    ("100ms", 100_000), ("3us", 3), ("3µs", 3), ("2y", 2 * 31_557_600 * S), ("1w", 7 * 86400 * S),
    ("infinity", USEC_INFINITY), (" infinity ", USEC_INFINITY), ("0", 0), ("1.500ms", 1500),
    ("1 month", 2_629_800 * S), ("5d 20.3s", 5 * 86400 * S + 20_300_000),
])
def test_timespan_valid(text, usec):
    assert v.parse_timespan(text) == usec


@pytest.mark.parametrize("text", ["5Min", "5 S", "5 mins", "1e3", "-5", "inf", "5.", "", " ", "12.34.56",
                                  "infinity 5", "5x", "3.sec", "1h-2"])
def test_timespan_invalid(text):
    with pytest.raises(ValueError):
        v.parse_timespan(text)


def test_timespan_default_unit():
    assert v.parse_timespan("7", default_unit_usec=1) == 7
    assert v.parse_timespan("7ms", default_unit_usec=1) == 7000


@pytest.mark.parametrize("usec,text", [(90 * S, "1min 30s"), (55_500_000, "55.500000s"), (100_000, "100ms"),
                                       (1500, "1.500ms"), (3630 * S, "1h 30s"), (0, "0"),
                                       (USEC_INFINITY, "infinity"), (5 * 86400 * S + 20_300_000, "5d 20.300000s")])
def test_format_timespan_matches_systemd_analyze(usec, text):
    assert v.format_timespan(usec) == text


@pytest.mark.parametrize("text", ["1", "yes", "y", "true", "t", "on", "YES", "On", "T"])
def test_boolean_true(text):
    assert v.parse_boolean(text) is True


@pytest.mark.parametrize("text", ["0", "no", "n", "false", "f", "off", "oFf"])
def test_boolean_false(text):
    assert v.parse_boolean(text) is False


@pytest.mark.parametrize("text", ["2", "enable", "", "yes ; x"])
def test_boolean_invalid(text):
    with pytest.raises(ValueError):
        v.parse_boolean(text)


def test_signals():
    assert v.signal_from_string("TERM") == 15
    assert v.signal_from_string("SIGKILL") == 9
    assert v.signal_from_string("9") == 9
    assert v.signal_from_string("RTMIN+2") == 36
    assert v.signal_from_string("SIGRTMAX-1") == 63
    for bad in ("SIGFOO", "99", "0", "", "sigterm"):
        with pytest.raises(ValueError):
            v.signal_from_string(bad)
    assert v.signal_to_string(15) == "TERM"


def test_exit_status_set_numbers_names_signals_and_bad_words():
    st, bad = v.parse_exit_status_set("1 TEMPFAIL SIGKILL 15 FOO 300")
    assert st.statuses == {1, 75, 15} and st.signals == {9}
    assert bad == ["FOO", "300"]
    st2, _ = v.parse_exit_status_set("BPF", st)
    assert 244 in st2.statuses and 1 in st2.statuses
    empty, _ = v.parse_exit_status_set("", st2)
    assert not empty


def test_words_quotes_and_escapes():
    assert v.split_words('a "b c" \'d e\' f\\sg \\x41 \\101 \\u00e9') == ["a", "b c", "d e", "f g", "A", "A", "é"]
    assert v.split_words('x"y z"w') == ["xy zw"]
    with pytest.raises(v.QuoteError):
        v.split_words('"open')
    with pytest.raises(v.EscapeError):
        v.split_words("a\\qb")


def test_exec_prefixes():
    cmd = v.parse_exec("-@:/bin/sh mysh -c 'echo hi'").commands[0]
    assert cmd.path == "/bin/sh" and cmd.argv == ("mysh", "-c", "echo hi")
    assert cmd.ignore_failure and cmd.no_env_expand and not cmd.full_privileges
    assert v.parse_exec("+/bin/x").commands[0].full_privileges
    assert v.parse_exec("!/bin/x").commands[0].no_setuid
    amb = v.parse_exec("!!/bin/x").commands[0]
    assert amb.ambient_only and not amb.no_setuid


def test_exec_plus_bang_is_fatal():
    res = v.parse_exec("+!/bin/true")
    assert res.fatal and res.messages == [("Neither a valid executable name nor an absolute path: !/bin/true", True)]


def test_exec_relative_path_with_slash_is_fatal_but_plain_name_ok():
    assert v.parse_exec("bin/true").fatal
    assert v.parse_exec("true").commands[0].path == "true"


def test_exec_semicolon_separates_and_escaped_semicolon_is_literal():
    res = v.parse_exec("/bin/a x ; /bin/b \\; y")
    assert [c.argv for c in res.commands] == [("/bin/a", "x"), ("/bin/b", ";", "y")]
    shell = v.parse_exec("echo / >/dev/null & \\; ls").commands[0]
    assert shell.argv == ("echo", "/", ">/dev/null", "&", ";", "ls")
    assert v.parse_exec("/bin/a a;b").commands[0].argv == ("/bin/a", "a;b")


def test_exec_keeps_variables_unexpanded():
    cmd = v.parse_exec("/bin/echo $ONE ${TWO} $$ x$Y").commands[0]
    assert cmd.argv == ("/bin/echo", "$ONE", "${TWO}", "$$", "x$Y")


def test_exec_unbalanced_quote_in_argument_is_fatal_in_first_word_a_warning():
    res = v.parse_exec('/bin/echo "unterminated')
    assert res.fatal and res.messages[0][0] == 'Unbalanced quoting, ignoring: "/bin/echo "unterminated"'
    first = v.parse_exec('"/bin/echo unterminated')
    assert not first.fatal and not first.commands


def test_exec_unknown_escape_warns_and_keeps_text():
    res = v.parse_exec("/bin/echo a\\qb")
    assert res.messages == [('Ignoring unknown escape sequences: "a\\qb"', False)]
    assert res.commands[0].argv == ("/bin/echo", "a\\qb")


def test_exec_specifier_callback():
    def ex(s):
        if "%Z" in s:
            raise ValueError("Invalid slot")
        return s.replace("%n", "u.service")
    assert v.parse_exec("/bin/echo %n", expand=ex).commands[0].argv == ("/bin/echo", "u.service")
    assert v.parse_exec("/bin/echo %Z", expand=ex).messages == [("Failed to resolve unit specifiers in %Z: Invalid slot", True)]


def test_limits_and_sizes():
    assert v.parse_limit("NOFILE", "1024:4096") == (1024, 4096)
    assert v.parse_limit("NOFILE", "infinity") == (v.RLIM_INFINITY, v.RLIM_INFINITY)
    assert v.parse_limit("AS", "1G") == (1 << 30, 1 << 30)
    assert v.parse_limit("CPU", "1min") == (60, 60)
    with pytest.raises(ValueError):
        v.parse_limit("NOFILE", "abc")
    with pytest.raises(ValueError):
        v.parse_limit("NOFILE", "10:5")
    assert v.parse_mode("0027") == 0o27
    with pytest.raises(ValueError):
        v.parse_mode("999")


def test_unsigned_like_safe_atou():
    assert v.parse_unsigned("10") == 10 and v.parse_unsigned("0x10") == 16 and v.parse_unsigned("010") == 8
    assert v.parse_unsigned(" +7") == 7
    for bad, why in (("-1", "ERANGE"), ("4294967296", "ERANGE"), ("", "EINVAL"), ("1x", "EINVAL"), ("08", "EINVAL")):
        with pytest.raises(ValueError, match=why):
            v.parse_unsigned(bad)


@pytest.mark.parametrize("text,size", [("512", 512), ("4K", 4096), ("1.5G", 3 << 29), ("1G 512M", (1 << 30) + (512 << 20)),
                                       ("10.M", 10 << 20), ("5.", 5), (" 7 B", 7)])
def test_size(text, size):
    assert v.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "x", "-1", "512M 1G", "5 6", "1K 2K", "5x", "1e3"])
def test_size_invalid(text):
    with pytest.raises(ValueError):
        v.parse_size(text)
