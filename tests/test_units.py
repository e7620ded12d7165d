import datetime as dt

import pytest

from evacsim.scenario.units import format_duration, parse_duration, parse_timestamp


@pytest.mark.parametrize(
    ("text", "hours"),
    [("45min", 0.75), ("2h", 2.0), ("1.5d", 36.0), ("30s", 30 / 3600), ("1w", 168.0), (0, 0.0)],
)
def test_durations_become_hours(text, hours):
    assert parse_duration(text) == pytest.approx(hours)


@pytest.mark.parametrize("bad", [12, 1.5, "12", "3 parsecs", "h", True, None, [1]])
def test_durations_without_a_known_unit_are_refused(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("hours", [0.75, 2.0, 36.0, 1 / 60, 0.1, 168.0, 1e-3, 1e-6, 3.7e-5, 1 / 3])
def test_format_duration_round_trips(hours):
    assert parse_duration(format_duration(hours)) == hours


def test_timestamps_from_strings_dates_and_datetimes():
    assert parse_timestamp("2021-08-16T18:00") == dt.datetime(2021, 8, 16, 18)
    assert parse_timestamp(dt.date(2021, 8, 16)) == dt.datetime(2021, 8, 16)
    assert parse_timestamp("2021-08-16") == dt.datetime(2021, 8, 16)
    with pytest.raises(ValueError):
        parse_timestamp("16/08/2021")
