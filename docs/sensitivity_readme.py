"""Regenerate the README's sensitivity finding from a recorded study (nothing typed in).

The study is the command in ``scenarios/sensitivity/kabul_assumptions.yaml``::

    evacsim sensitivity scenarios/sensitivity/kabul_assumptions.yaml --allow-dir scenarios \\
        -N 32 --kpi not_out --kpi evacuated --kpi left_behind --out RESULTS_DIR

Then ``python docs/sensitivity_readme.py RESULTS_DIR`` copies the study's record and tables
(``sensitivity.json``, ``sensitivity_*.csv``; not the per-run store) into
``docs/recorded/kabul_sensitivity/`` and rewrites the README between the
``<!-- sensitivity:begin -->`` and ``<!-- sensitivity:end -->`` markers from them.
``tests/test_sensitivity_readme.py`` checks that the README says what the committed tables
say; the slow tier reruns the command and checks that it gives those tables again.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "docs" / "recorded" / "kabul_sensitivity"
README = ROOT / "README.md"
BEGIN, END = "<!-- sensitivity:begin -->", "<!-- sensitivity:end -->"
FILES = (
    "sensitivity.json",
    "sensitivity_indices.csv",
    "sensitivity_outputs.csv",
    "sensitivity_points.csv",
)
COMMAND = (
    "evacsim sensitivity scenarios/sensitivity/kabul_assumptions.yaml --allow-dir "
    "scenarios -N 32 --kpi not_out --kpi evacuated --kpi left_behind --out RESULTS_DIR"
)


def render(folder: Path = RECORD, kpi: str = "not_out") -> str:
    """The README block, from a study's ``sensitivity.json`` and indices table."""
    record = json.loads((folder / "sensitivity.json").read_text(encoding="utf-8"))
    indices = pd.read_csv(folder / "sensitivity_indices.csv")
    outputs = pd.read_csv(folder / "sensitivity_outputs.csv")
    part = indices[indices["kpi"] == kpi].sort_values("ST", ascending=False)
    y = outputs[outputs["kpi"] == kpi]["value"]
    n_points = outputs["point"].nunique()
    top = part.iloc[0]
    small = part[part["ST_high"] < 0.05]["parameter"].tolist()
    lines = [
        f"Command: `{COMMAND}` ({record['method']}, {n_points} design points x "
        f"{record['replications']} replication, root seed {record['seed']}).",
        "",
        f"Over the ranges, `{kpi}` (eligible people not flown out by the deadline) has mean "
        f"{y.mean():,.0f} and standard deviation {y.std():,.0f}. It hangs most on "
        f"`{top['parameter']}` (total index {top['ST']:.2f}, 95 % interval "
        f"{top['ST_low']:.2f} to {top['ST_high']:.2f}).",
        "",
        "| input | first order S1 [95 % CI] | total ST [95 % CI] |",
        "|---|---|---|",
    ]
    for r in part.itertuples():
        lines.append(
            f"| `{r.parameter}` | {r.S1:.2f} [{r.S1_low:.2f}, {r.S1_high:.2f}] | "
            f"{r.ST:.2f} [{r.ST_low:.2f}, {r.ST_high:.2f}] |"
        )
    if small:
        lines += [
            "",
            "Inputs whose total index stays below 0.05 over its whole interval "
            "(they can be fixed anywhere in their range for this question): "
            + ", ".join(f"`{p}`" for p in small)
            + ".",
        ]
    return "\n".join(lines)


def readme_block(text: str) -> str:
    """What the README holds between the markers."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the --out folder of the recorded command")
    args = parser.parse_args()
    RECORD.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(args.results / name, RECORD / name)
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(f"{head}{BEGIN}\n{render()}\n{END}{tail}", encoding="utf-8")
    print(render())


if __name__ == "__main__":
    main()
