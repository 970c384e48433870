import os
import time

import pytest


@pytest.fixture
def utc_tz():
    """Local time = UTC for the duration of a test (formats print local time)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()
