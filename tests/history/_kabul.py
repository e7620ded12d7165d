"""What the record suite reads from a run: counts as of a time, in a window, per reporting day.

Official daily figures for Kabul ran 11:30 to 11:30 Kabul time (03:00 EDT; data file "The
early record"); a reporting day here is labelled by the date it starts. Departures are read
from the flights table (exact departure times), so a count "as of" a time is exact.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

import evacsim

TARGETS = Path(__file__).resolve().parents[2] / "scenarios" / "data" / "kabul_2021_targets.csv"
DAY_STARTS_H = 11.5  # 11:30 Kabul time [src: kabul_2021.md, "The early record"]


def departed(result: evacsim.RunResult) -> pd.DataFrame:
    flights = result.flights
    return flights[flights["status"] == "departed"]


def evacuated_between(result: evacsim.RunResult, start, end, operator: str | None = None) -> float:
    """People flown out with departures in ``[start, end)`` (None: from the beginning)."""
    f = departed(result)
    if operator not in (None, "all"):
        f = f[f["operator"] == operator]
    mask = f["departed"] < pd.Timestamp(end)
    if start is not None and not pd.isna(start):
        mask &= f["departed"] >= pd.Timestamp(start)
    return float(f.loc[mask, "boarded"].sum())


def reporting_day(times: pd.Series) -> pd.Series:
    """The reporting day (its start date) of each time."""
    return (times - pd.Timedelta(hours=DAY_STARTS_H)).dt.normalize()


def early_record() -> pd.DataFrame:
    """The observed early record (to 20 Aug 16:00 Kabul): counts of the US operator or of all
    nations, cumulative or over a window, with the band the sources allow."""
    frame = pd.read_csv(TARGETS, parse_dates=["from", "to"])
    frame = frame[frame["quantity"].str.startswith("evacuated") & frame["to"].notna()]
    return frame.assign(operator=frame["quantity"].str.partition(".")[2].replace("", "all"))


def model_early_record(result: evacsim.RunResult) -> list[float]:
    """The run's value for each row of :func:`early_record`, in its order."""
    return [
        evacuated_between(result, row["from"], row["to"], row["operator"])
        for _, row in early_record().iterrows()
    ]


def level_at(result: evacsim.RunResult, stage: str, when: dt.datetime) -> float:
    """People in ``stage`` (all categories) at the end of the hour that holds ``when``."""
    b = result.backlog
    hour = pd.Timestamp(when).floor("h")
    return float(b.loc[(b["stage"] == stage) & (b["time"] == hour), "end"].sum())


def level_max(result: evacsim.RunResult, stage: str, start, end) -> float:
    """The most people in ``stage`` (all categories) at an hour's end in ``[start, end)``."""
    b = result.backlog
    inside = (b["time"] >= pd.Timestamp(start)) & (b["time"] < pd.Timestamp(end))
    b = b[(b["stage"] == stage) & inside]
    return float(b.groupby("time")["end"].sum().max())
