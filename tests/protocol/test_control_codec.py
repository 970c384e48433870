"""The control-socket codec: framing round-trips, and garbage never escapes as an exception."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.protocol.control import MAX_FRAME, FrameDecoder, ProtocolError, encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), min_size=1, max_size=5), st.integers(1, 17))
def test_messages_survive_any_chunking(messages, chunk):
    stream = b"".join(encode(m) for m in messages)
    decoder = FrameDecoder()
    out = []
    for i in range(0, len(stream), chunk):
        out.extend(decoder.feed(stream[i : i + chunk]))
    assert out == messages
    assert decoder.pending == 0


@given(st.binary(max_size=200))
def test_garbage_is_a_protocol_error_or_incomplete(data):
    decoder = FrameDecoder(max_frame=1024)
    try:
        decoder.feed(data)
    except ProtocolError:
        pass


def test_oversized_frame_is_refused_from_its_header_alone():
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        decoder.feed(struct.pack(">I", MAX_FRAME + 1))


def test_a_non_object_body_is_refused():
    body = b"[1,2]"
    with pytest.raises(ProtocolError, match="expected a JSON object"):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)
