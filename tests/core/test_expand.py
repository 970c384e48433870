"""$VAR/${VAR} expansion of command lines. # spec: service-lifecycle.md §5.3

The man-page examples, plus the corner cases observed with real systemd 257 and 252
(tests/data/executor/oracle-*.json, unit `expand.service`).
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.expand import (
    env_name_is_valid,
    expand_argv,
    expand_argv_full,
    expansion_warnings,
    split_value,
)
from sysvisor.core.units import ExecCommand

DATA = Path(__file__).parent.parent / "data" / "executor"


def cmd(*argv: str, path: str | None = None, no_env_expand: bool = False) -> ExecCommand:
    return ExecCommand(path=path or argv[0], argv=tuple(argv), no_env_expand=no_env_expand)


def test_man_page_example_1():
    # Environment="ONE=one" 'TWO=two two' ; ExecStart=echo $ONE $TWO ${TWO}
    env = {"ONE": "one", "TWO": "two two"}
    path, argv = expand_argv(cmd("/bin/echo", "$ONE", "$TWO", "${TWO}"), env)
    assert path == "/bin/echo"
    assert argv == ["/bin/echo", "one", "two", "two", "two two"]


def test_man_page_example_2_braces_keep_quotes():
    # Environment=ONE='one' "TWO='two two' too" THREE= ; echo ${ONE} ${TWO} ${THREE}
    env = {"ONE": "'one'", "TWO": "'two two' too", "THREE": ""}
    _, argv = expand_argv(cmd("/bin/echo", "${ONE}", "${TWO}", "${THREE}"), env)
    assert argv[1:] == ["'one'", "'two two' too", ""]


def test_man_page_example_3_whole_word_unquotes():
    env = {"ONE": "'one'", "TWO": "'two two' too", "THREE": ""}
    _, argv = expand_argv(cmd("/bin/echo", "$ONE", "$TWO", "$THREE"), env)
    assert argv[1:] == ["one", "two two", "too"]


def test_oracle_corner_cases_match_real_systemd():
    """The same command line real systemd 257 and 252 expanded (expand.service)."""
    words = (
        "--x=$ONE $ONE.x ${ONE}x $$ONE $$ $ ${NOPE} $NOPE ${ONE:-d} $Q $EMPTY ${EMPTY} "
        "$1X ${A-B} pre$ $TWO ${TWO}"
    ).split(" ")
    env = {"ONE": "one", "TWO": "two two", "Q": "'a b' c", "EMPTY": ""}
    result = expand_argv_full(cmd("/usr/bin/python3", "-c", "prog", *words), env)
    for release in ("257", "252"):
        recorded = json.loads((DATA / f"oracle-{release}.json").read_text())
        reads = [s for s in recorded["scenarios"][0]["steps"] if s.get("path") == "/tmp/expand.out"]
        assert result.argv[3:] == json.loads(reads[0]["content"])
    assert result.unset_variables == ["NOPE"]
    assert result.bad_variables == ["", "1X", "A-B", "ONE.x"]
    # the exact warnings systemd 257 logged for that unit
    assert expansion_warnings(result) == [
        "Referenced but unset environment variable evaluates to an empty string: NOPE",
        "Invalid environment variable name evaluates to an empty string: , 1X, A-B, ONE.x",
    ]


def test_colon_prefix_disables_expansion():
    c = cmd("/bin/echo", "$ONE", "${ONE}", "$$", no_env_expand=True)
    assert expand_argv(c, {"ONE": "one"}) == ("/bin/echo", ["/bin/echo", "$ONE", "${ONE}", "$$"])


def test_at_prefix_argv0_is_expanded_but_path_is_not():
    c = ExecCommand(path="/usr/bin/python3", argv=("${NAME}", "-V"))
    assert expand_argv(c, {"NAME": "my name"}) == ("/usr/bin/python3", ["my name", "-V"])


def test_unset_whole_word_gives_no_argument_and_braces_give_empty_one():
    assert expand_argv(cmd("/bin/x", "$U", "${U}"), {})[1] == ["/bin/x", ""]


def test_split_value_quotes_backslash_and_relax():
    assert split_value("  a  'b c'd \"e\\\"f\" g\\ h ") == ["a", "b cd", 'e"f', "g h"]
    assert split_value("'unterminated x") == ["unterminated x"]
    assert split_value("trail\\") == ["trail"]
    assert split_value("''") == [""]
    assert split_value(" \t\n") == []


def test_env_name_is_valid():
    assert env_name_is_valid("A_1")
    assert env_name_is_valid("_")
    assert not env_name_is_valid("")
    assert not env_name_is_valid("1A")
    assert not env_name_is_valid("A-B")
    assert not env_name_is_valid("A.B")


_plain = st.text(alphabet=st.characters(blacklist_characters="$"), max_size=20)


@given(st.lists(_plain, max_size=6))
def test_words_without_dollar_are_unchanged(words):
    c = cmd("/bin/x", *words)
    assert expand_argv(c, {"A": "x y"})[1] == ["/bin/x", *words]


@given(st.text(alphabet=st.characters(blacklist_characters="'\"\\", blacklist_categories=("Cs",)), max_size=40))
def test_whole_word_split_matches_whitespace_split_without_quotes(value):
    assert expand_argv(cmd("/bin/x", "$V"), {"V": value})[1][1:] == [
        w for w in _split_ws(value)
    ]


@given(st.text(max_size=30))
def test_braced_reference_is_exactly_one_argument(value):
    assert expand_argv(cmd("/bin/x", "${V}"), {"V": value})[1] == ["/bin/x", value]


def _split_ws(s: str) -> list[str]:
    out, cur, in_word = [], [], False
    for ch in s:
        if ch in " \t\n\r":
            if in_word:
                out.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(ch)
            in_word = True
    if in_word:
        out.append("".join(cur))
    return out


def test_at_prefix_argv0_like_systemd():
    """oracle5 argv0sh/argv0split: ${ZERO} is one argv[0]; $ZERO splits and shifts the rest."""
    env = {"ZERO": "zero word"}
    braced = ExecCommand(path="/bin/sh", argv=("${ZERO}", "-c", 'echo "$0"'))
    assert expand_argv(braced, env) == ("/bin/sh", ["zero word", "-c", 'echo "$0"'])
    split = ExecCommand(path="/bin/sh", argv=("$ZERO", "-c", 'echo "$0"'))
    assert expand_argv(split, env) == ("/bin/sh", ["zero", "word", "-c", 'echo "$0"'])
    recorded = json.loads((DATA / "oracle5-257.json").read_text())
    reads = {s["path"]: s.get("content") for s in recorded["scenarios"][0]["steps"] if s["do"] == "read_file"}
    assert reads["/tmp/argv0sh.out"] == "zero word\n"
    assert reads["/tmp/argv0split.out"] is None  # sh was asked to run the file "word"
