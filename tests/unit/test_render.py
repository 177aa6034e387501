"""Table cells: timestamps to the second in UTC, whatever form the API gave them in."""

import pytest

from lendguard.offline.render import when


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-11-25T13:24:35.627812Z", "2026-11-25 13:24:35Z"),
        ("2026-11-25T21:24:35+08:00", "2026-11-25 13:24:35Z"),
        (1798205075, "2026-12-25 13:24:35Z"),
        (None, "-"),
        ("", "-"),
        ("not a time", "not a time"),
    ],
)
def test_timestamps_are_shown_in_utc_to_the_second(value, shown):
    assert when(value) == shown
