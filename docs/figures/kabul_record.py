"""Draw docs/figures/kabul_record.png: the Kabul baseline against the record.

Run from the repository root:  python docs/figures/kabul_record.py  (about 10 s on 2 cores)

Left: the US operator's evacuated, cumulative, in six replications, with the early record's
bands (scenarios/data/kabul_2021_targets.csv, the data the calibration used). Right: people
evacuated per reporting day (11:30 to 11:30 Kabul time), median and range of the six
replications, with the shape checks of the data file written on it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import evacsim  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(6)


def main() -> Path:
    scenario = evacsim.load_scenario(ROOT / "scenarios" / "kabul_2021.yaml")
    runs = [evacsim.simulate(scenario, seed=s, keep_records=False) for s in SEEDS]
    targets = pd.read_csv(
        ROOT / "scenarios" / "data" / "kabul_2021_targets.csv", parse_dates=["from", "to"]
    )
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")

    for r in runs:
        f = r.flights[(r.flights["status"] == "departed") & (r.flights["operator"] == "us")]
        f = f.sort_values("departed")
        left.plot(f["departed"], f["boarded"].cumsum(), color="#1f77b4", alpha=0.5, lw=1)
    cumulative = targets[(targets["quantity"] == "evacuated.us") & targets["from"].isna()]
    left.errorbar(
        cumulative["to"],
        (cumulative["low"] + cumulative["high"]) / 2,
        yerr=(cumulative["high"] - cumulative["low"]) / 2,
        fmt="o",
        color="#d62728",
        capsize=4,
        label="early record (US military flights), band",
    )
    left.set_xlim(pd.Timestamp("2021-08-14"), pd.Timestamp("2021-08-21"))
    left.set_ylim(0, 16_000)
    left.set_title("Early record to 20 Aug: US operator, cumulative")
    left.set_ylabel("people evacuated")
    left.legend(frameon=False, loc="upper left")

    daily = []
    for r in runs:
        e = r.evacuated
        day = (e["time"] - pd.Timedelta(hours=11.5)).dt.normalize()
        daily.append(e.groupby(day)["people"].sum())
    frame = pd.concat(daily, axis=1).fillna(0)
    right.fill_between(
        frame.index,
        frame.min(axis=1),
        frame.max(axis=1),
        color="#1f77b4",
        alpha=0.25,
        step="mid",
        label="range of 6 replications",
    )
    right.step(frame.index, frame.median(axis=1), where="mid", color="#1f77b4", label="median")
    right.axhline(
        21_600, color="#d62728", ls="--", lw=1, label="record: peak 24 h ~21,600 (23-24 Aug)"
    )
    right.annotate(
        "20 Aug: Al Udeid full,\ndepartures held",
        (pd.Timestamp("2021-08-19"), frame.median(axis=1).get(pd.Timestamp("2021-08-19"), 0)),
        xytext=(pd.Timestamp("2021-08-14"), 15_000),
        arrowprops={"arrowstyle": "->"},
    )
    right.annotate(
        "26 Aug: Abbey Gate attack;\nretrograde from 28 Aug",
        (pd.Timestamp("2021-08-27"), frame.median(axis=1).get(pd.Timestamp("2021-08-27"), 0)),
        xytext=(pd.Timestamp("2021-08-26"), 21_000),
        arrowprops={"arrowstyle": "->"},
    )
    right.set_title("Evacuated per reporting day (11:30-11:30 Kabul)")
    right.set_ylabel("people per day")
    right.legend(frameon=False, loc="upper left", fontsize=8)
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
    out = ROOT / "docs" / "figures" / "kabul_record.png"
    fig.savefig(out, dpi=110)
    return out


if __name__ == "__main__":
    sys.stdout.write(f"{main()}\n")
