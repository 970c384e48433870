"""The protocol's JSON codec agrees with the json module on everything it produces."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.protocol import jsoncodec

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=8), c, max_size=5),
    max_leaves=30,
)


@given(values)
def test_roundtrip_and_agreement_with_json(value):
    text = jsoncodec.dumps(value)
    assert json.loads(text) == value
    assert jsoncodec.loads(text) == value
    assert jsoncodec.loads(json.dumps(value, indent=2)) == value


@given(st.text(max_size=50))
def test_garbage_is_a_value_error_or_what_json_says(text):
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            jsoncodec.loads(text)
    else:
        assert jsoncodec.loads(text) == expected or expected != expected


@given(values)
def test_ascii_dumps_is_byte_for_byte_what_the_journal_wrote_with_json(value):
    """The journal's record headers (and the needle a reader searches them with) were
    written by json.dumps(separators=(",", ":")): the codec must write the same bytes."""
    assert jsoncodec.dumps_ascii(value) == json.dumps(value, separators=(",", ":"))
    assert jsoncodec.loads_bytes(jsoncodec.dumps_ascii(value).encode()) == json.loads(json.dumps(value))


def test_loads_bytes_refuses_what_is_not_utf8():
    with pytest.raises(ValueError):
        jsoncodec.loads_bytes(b'"\xff"')
