"""Any text gives a Unit or diagnostics, never an exception. # spec: unit-files.md §7"""

from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.core.types import LoadState
from sysvisor.unitfile.interpreter import interpret
from sysvisor.unitfile.specifier import HostFacts, specifier_values
from sysvisor.unitfile.values import parse_exec, parse_timespan, split_words

SPEC = specifier_values("p@i.service", "/x/p@.service", HostFacts())
KEYS = ["ExecStart", "ExecStartPre", "Restart", "RestartSec", "Type", "Environment", "TimeoutSec",
        "SuccessExitStatus", "KillSignal", "User", "WorkingDirectory", "Description", "After", "Wants",
        "StartLimitBurst", "StartLimitIntervalSec", "ConditionPathExists", "LimitNOFILE", "Nice",
        "StandardOutput", "X-Foo", "Bogus", "DefaultInstance", "WantedBy", "OnFailure", "UMask"]
line = st.one_of(
    st.text(max_size=40),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), st.text(max_size=30)),
    st.sampled_from(["[Unit]", "[Service]", "[Install]", "[X-A]", "[Bad", "# c", "; c", "\\", ""]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, max_size=25))
def test_any_text_loads_or_diagnoses(lines):
    unit, diags = interpret("p@i.service", [("/x/p@.service", "\n".join(lines))], specifiers=SPEC)
    assert unit.load_state in (LoadState.LOADED, LoadState.BAD_SETTING, LoadState.ERROR)
    if unit.load_state is not LoadState.LOADED:
        assert unit.load_error and diags
    for d in diags:
        assert str(d)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_value_parsers_raise_only_valueerror(text):
    for fn in (parse_timespan, split_words):
        try:
            fn(text)
        except ValueError:
            pass
    res = parse_exec(text)
    assert all(c.argv for c in res.commands)


@given(st.integers(min_value=0, max_value=10**12))
def test_timespan_roundtrip_through_format(usec):
    from sysvisor.unitfile.values import format_timespan
    assert parse_timespan(format_timespan(usec)) == usec


def _quote(arg):
    # double-quote and escape what extract_first_word would otherwise split or decode
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


ARG = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(ARG, max_size=6))
def test_exec_argv_round_trips_through_quoting(args):
    line = "/bin/prog " + " ".join(_quote(a) for a in args)
    res = parse_exec(line)
    assert not res.messages
    assert res.commands[0].argv == ("/bin/prog", *args)
