"""Query predicates: the record-level test never rules out an entry the full test accepts."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.journal.query import Query, QueryError, parse_priority, resolve_boot

UNITS = ["a.service", "b.service", "c.slice"]
_fields = st.fixed_dictionaries(
    {},
    optional={
        "_SYSTEMD_UNIT": st.sampled_from(UNITS),
        "UNIT": st.sampled_from(UNITS),
        "_SYSTEMD_SLICE": st.sampled_from(UNITS),
        "SYSLOG_IDENTIFIER": st.sampled_from(["x", "y"]),
        "_BOOT_ID": st.sampled_from(["1", "2"]),
        "_PID": st.sampled_from(["10", "11"]),
    },
)
_per_entry = st.fixed_dictionaries(
    {"MESSAGE": st.sampled_from(["hello", "error here"]), "PRIORITY": st.sampled_from([str(i) for i in range(8)])}
)
_queries = st.builds(
    Query,
    units=st.lists(st.sampled_from(UNITS + ["a*", "*.slice"]), max_size=2),
    identifiers=st.lists(st.sampled_from(["x", "y"]), max_size=1),
    priorities=st.one_of(st.none(), st.sampled_from([parse_priority("err"), parse_priority("6")])),
    matches=st.lists(
        st.lists(st.sampled_from([("_PID", "10"), ("PRIORITY", "3"), ("MESSAGE", "hello"), ("_PID", "11")]),
                 min_size=1, max_size=2),
        max_size=2,
    ),
    boot=st.sampled_from([None, "1", "2"]),
)


@settings(deadline=None)
@given(fields=_fields, per_entry=_per_entry, query=_queries)
def test_record_predicate_is_sound(fields, per_entry, query):
    entry = {**fields, **per_entry}
    record = query.record_predicate()
    if query.entry_predicate()(entry) and record is not None:
        assert record(fields)


def test_priority_words():
    assert parse_priority("warning") == {"0", "1", "2", "3", "4"}
    assert parse_priority("debug..notice") == {"5", "6", "7"}
    for bad in ("8", "loud", "1..", "..x"):
        try:
            parse_priority(bad)
        except QueryError:
            continue
        raise AssertionError(bad)


def test_resolve_boot():
    boots = ["a" * 32, "b" * 32, "c" * 32]
    assert resolve_boot(boots, "0", "c" * 32) == "c" * 32
    assert resolve_boot(boots, "-1", "c" * 32) == "b" * 32
    assert resolve_boot(boots, "1", None) == "a" * 32
    assert resolve_boot(boots, "a" * 32 + "+1", None) == "b" * 32
    assert resolve_boot(boots, "-3", "c" * 32) is None
    assert resolve_boot(boots, "0", "d" * 32) == "d" * 32  # the running instance has not logged yet
