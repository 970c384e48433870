"""128-bit IDs (sysvisor/id128.py): the format of uuid.uuid4().hex, without importing uuid."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.id128 import format_v4
from sysvisor.id128 import random_id128


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_format_v4_is_uuids_version_4_form(n):
    assert format_v4(n) == uuid.UUID(int=n, version=4).hex


def test_random_ids_are_v4_and_differ():
    ids = {random_id128() for _ in range(100)}
    assert len(ids) == 100
    for text in ids:
        u = uuid.UUID(hex=text)
        assert (u.version, u.variant, u.hex) == (4, uuid.RFC_4122, text)
