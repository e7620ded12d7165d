"""The experiments' command line: ``run -n``, ``compare``, ``sweep``, ``goalseek``.

The presentation layer of :mod:`evacsim.cli` for experiments, kept here so that the shared
CLI module only registers these commands. Each handler parses, calls the library, prints
plain-text tables (and writes everything to ``--out``). User mistakes end in one line on
stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .options import add_scenario_options, checked_scenario
from .safety import (
    FINITE,
    PROBABILITY,
    REPLICATIONS,
    SAMPLES,
    SEED,
    STEP,
    WORKERS,
    default_output,
)

if TYPE_CHECKING:  # the library is imported when a command runs, so --help stays quick
    import pandas as pd

    from evacsim.experiments.replications import Replications
    from evacsim.scenario.schema import Scenario

__all__ = [
    "EXIT_ALL_FAILED",
    "EXIT_SOME_FAILED",
    "add_commands",
    "add_engine_options",
    "add_run_options",
    "engine_kwargs",
    "failures_exit",
    "goal_lever",
    "run_replications",
]

log = logging.getLogger(__name__)

ENGINE_NAMES = ("auto", "sequential", "local", "dask")
"""The names :func:`evacsim.experiments.engines.make_engine` takes, listed here so that
building the parser (and ``--help``) does not import the experiments package (a test checks
that the two lists agree)."""

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_GOAL_NOT_REACHED = 4  # goalseek: even the top of the range misses the goal
EXIT_SOME_FAILED = 5  # some replications failed: left out of the tables, recorded in --out
EXIT_ALL_FAILED = 6  # every replication failed: nothing to report


def failures_exit(failed: int, total: int) -> int:
    """The exit code of an experiment whose ``failed`` of ``total`` replications failed."""
    if failed <= 0:
        return EXIT_OK
    return EXIT_ALL_FAILED if failed >= total else EXIT_SOME_FAILED


HEADLINE = (
    "evacuated",
    "left_behind",
    "not_out",
    "turned_away",
    "peak_24h_evacuated",
    "peak_backlog.outside",
    "peak_backlog.inside_waiting",
    "flights_departed",
    "mean_load_factor",
    "wait_total_p50_h",
    "wait_total_p90_h",
)


# ------------------------------------------------------------------------------ arguments


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """--engine, --workers, --scheduler, --seed, --out, --progress for experiment commands."""
    group = parser.add_argument_group("experiment engine")
    group.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        default=None,
        help="where replications run: auto (default: in this process when "
        "the work is too small to repay starting workers, else local "
        "worker processes), sequential, local or a Dask cluster",
    )
    group.add_argument(
        "--workers",
        type=WORKERS,
        default=None,
        help="worker processes (default: every core this process may use)",
    )
    group.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address, e.g. tcp://host:8786 (implies --engine "
        "dask; without it --engine dask starts a local Dask cluster)",
    )
    group.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar with ETA (default: only on a terminal)",
    )


def add_run_options(run: argparse.ArgumentParser) -> None:
    """``run -n N`` and the engine options."""
    run.add_argument(
        "-n",
        "--replications",
        type=REPLICATIONS,
        default=None,
        metavar="N",
        help="run N independent replications and report means, 95%% CIs, "
        "percentiles and daily bands (seeds spawned from --seed)",
    )
    run.add_argument(
        "--all-kpis",
        action="store_true",
        help="with -n: print every KPI, not only the headline ones",
    )
    add_engine_options(run)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``compare``, ``sweep``, ``sensitivity`` and ``goalseek`` on the CLI's
    subparsers."""
    cmp = sub.add_parser(
        "compare", help="compare a base scenario with alternatives (paired, common random numbers)"
    )
    cmp.add_argument(
        "scenarios",
        type=Path,
        nargs="+",
        metavar="SCENARIO",
        help="base scenario first, then the alternatives",
    )
    cmp.add_argument("-n", "--replications", type=REPLICATIONS, default=30, metavar="N")
    cmp.add_argument("--seed", type=SEED, default=0, help="root random seed (default 0)")
    cmp.add_argument(
        "--kpi",
        default="not_out",
        help="KPI to rank on (default not_out: everyone eligible not flown out, "
        "including those who never reached a gate)",
    )
    direction = cmp.add_mutually_exclusive_group()
    direction.add_argument(
        "--maximize",
        dest="maximize",
        action="store_true",
        default=None,
        help="higher KPI is better (default: from the KPI's meaning)",
    )
    direction.add_argument("--minimize", dest="maximize", action="store_false")
    cmp.add_argument("--out", type=Path, help="results folder (resumable)")
    cmp.add_argument(
        "--report",
        action="store_true",
        help="also write OUT/report.html (compare-report.html here without --out)",
    )
    add_engine_options(cmp)
    add_scenario_options(cmp)  # --set applies to every scenario compared
    cmp.set_defaults(func=cmd_compare)

    sw = sub.add_parser("sweep", help="vary levers and uncertainties; one tidy results table")
    sw.add_argument("file", type=Path, help="a sweep file, or a scenario file with --vary")
    sw.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="a factor: PATH=v1,v2 (set), PATH+=v1,v2 (add), PATH*=v1,v2 (scale), "
        "or PATH=LO..HI (Latin hypercube); repeatable",
    )
    sw.add_argument(
        "-n",
        "--replications",
        type=REPLICATIONS,
        default=None,
        metavar="N",
        help="replications per point (overrides the sweep file; default 10)",
    )
    sw.add_argument(
        "--samples", type=SAMPLES, default=None, help="Latin hypercube points over the ranges"
    )
    sw.add_argument("--seed", type=SEED, default=None, help="root random seed")
    sw.add_argument(
        "--kpi",
        action="append",
        default=None,
        help="KPI(s) to print per point (default left_behind, evacuated)",
    )
    sw.add_argument("--out", type=Path, help="results folder (resumable: rerun to continue)")
    sw.add_argument(
        "--report",
        action="store_true",
        help="also write OUT/report.html (NAME-report.html here without --out)",
    )
    add_engine_options(sw)
    add_scenario_options(sw)  # --set changes the base scenario before the factors
    sw.set_defaults(func=cmd_sweep)

    sens = sub.add_parser(
        "sensitivity",
        help="which uncertain inputs a KPI hangs on: Sobol indices or Morris screening (SALib)",
        description="Samples the inputs over their ranges (--param, or the scenario's "
        "'uncertain:' block), runs every design point (common random numbers) and "
        "reports first-order and total indices with bootstrap intervals.",
    )
    sens.add_argument("scenario", type=Path)
    sens.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="PATH=LOW:HIGH",
        help="an uncertain input and its range, e.g. screening.lanes=20:90 or "
        "screening.service.mean=3min..12min; PATH*=LOW:HIGH scales every "
        "number at PATH (a profile); repeatable (default: the scenario's "
        "uncertain: block)",
    )
    sens.add_argument(
        "--method",
        choices=("sobol", "morris"),
        default="sobol",
        help="sobol: first-order and total indices, N(D+2) points (default); "
        "morris: elementary-effects screening, N(D+1) points",
    )
    sens.add_argument(
        "-N",
        "--samples",
        type=int,
        default=64,
        help="Sobol base samples (a power of 2) or Morris trajectories (default 64)",
    )
    sens.add_argument(
        "-n",
        "--replications",
        type=int,
        default=1,
        metavar="N",
        help="replications per design point (default 1; same seeds at every point)",
    )
    sens.add_argument(
        "--kpi",
        action="append",
        default=None,
        help="KPI(s) to analyse (default not_out, left_behind, evacuated)",
    )
    sens.add_argument(
        "--resamples",
        type=int,
        default=200,
        help="bootstrap resamples for the intervals (default 200)",
    )
    sens.add_argument("--seed", type=int, default=0, help="root random seed (default 0)")
    sens.add_argument("--out", type=Path, help="results folder (resumable)")
    sens.add_argument(
        "--report",
        action="store_true",
        help="also write OUT/report.html (NAME-sensitivity-report.html here without --out)",
    )
    add_engine_options(sens)
    add_scenario_options(sens)
    sens.set_defaults(func=cmd_sensitivity)

    gs = sub.add_parser(
        "goalseek",
        help="smallest lever value with P(KPI <= N) >= p",
        description="Bisection over replicated runs. Exit code 4 when even --high misses the goal.",
    )
    gs.add_argument("scenario", type=Path)
    gs.add_argument(
        "--lever",
        required=True,
        metavar="PATH=LO..HI",
        help="the lever and its range: PATH=LO..HI sets the value, PATH+=LO..HI "
        "adds to it, PATH*=LO..HI scales it (profiles: every step), e.g. "
        "flights.us_c17.per_day+=0..20 (or a bare PATH with --low, --high "
        "and --mode)",
    )
    gs.add_argument(
        "--mode",
        choices=("set", "add", "scale"),
        default=None,
        help="with a bare --lever PATH: set, add or scale (default set)",
    )
    gs.add_argument(
        "--low", type=FINITE, default=None, help="with a bare --lever PATH: smallest value to try"
    )
    gs.add_argument(
        "--high", type=FINITE, default=None, help="with a bare --lever PATH: largest value to try"
    )
    gs.add_argument(
        "--step", type=STEP, default=None, help="resolution (default 1 for whole-number bounds)"
    )
    gs.add_argument(
        "--kpi",
        default="left_behind",
        help="KPI to bound (default left_behind; not_out also counts those who "
        "never reached the airport)",
    )
    gs.add_argument("--at-most", type=FINITE, required=True, metavar="N", help="the goal: KPI <= N")
    gs.add_argument("--prob", type=PROBABILITY, default=0.9, help="with at least this probability")
    gs.add_argument(
        "--conservative",
        action="store_true",
        help="require the lower end of the 95%% interval to reach --prob",
    )
    gs.add_argument("-n", "--replications", type=REPLICATIONS, default=30, metavar="N")
    gs.add_argument("--seed", type=SEED, default=0, help="root random seed (default 0)")
    gs.add_argument("--out", type=Path, help="results folder (resumable)")
    add_engine_options(gs)
    add_scenario_options(gs)
    gs.set_defaults(func=cmd_goalseek)


def engine_kwargs(args: argparse.Namespace) -> dict:
    """engine, workers, scheduler and progress from the engine options, checked."""
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be 1 or more, got {args.workers}")
    if args.engine == "dask" or args.scheduler:
        from evacsim.experiments.engines import require_dask

        require_dask()  # its import sets its loggers to INFO; undo that below

        # Dask logs every worker start and stop at INFO; show them only with --verbose.
        logging.getLogger("distributed").setLevel(
            logging.INFO if getattr(args, "verbose", False) else logging.WARNING
        )
    return {
        "engine": args.engine,
        "workers": args.workers,
        "scheduler": args.scheduler,
        "progress": args.progress,
    }


def _is_validation_error(exc: Exception) -> bool:
    from pydantic import ValidationError

    return isinstance(exc, ValidationError)


def _user_errors(handler):
    """Report a bad argument (ValueError/KeyError from the library) as one line, exit 1."""

    def wrapped(args: argparse.Namespace, *rest) -> int:
        try:
            return handler(args, *rest)
        except (ValueError, KeyError) as exc:
            if _is_validation_error(exc):
                # A pydantic error (a ValueError): one line per mistake, no pydantic text.
                for err in exc.errors(include_url=False):
                    where = ".".join(str(part) for part in err["loc"])
                    message = err["msg"].removeprefix("Value error, ")
                    print(
                        f"evacsim {args.command}: {where + ': ' if where else ''}{message}",
                        file=sys.stderr,
                    )
                return EXIT_USAGE  # the arguments built an impossible experiment
            message = exc.args[0] if exc.args else str(exc)
            print(f"evacsim {args.command}: {' '.join(str(message).split())}", file=sys.stderr)
            return EXIT_INVALID

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


# ------------------------------------------------------------------------------ presenting


def failure_summary(failures: pd.DataFrame, total: int) -> tuple[list[str], int]:
    """Lines saying how many of ``total`` replications failed and why, and the exit code.

    ``failures`` has an ``error`` column (one row per failed replication, as recorded in the
    store). Errors are grouped, most frequent first, so that one cause shows once.
    """
    if not len(failures):
        return [], EXIT_OK
    lines = [
        f"{len(failures)} of {total} replications failed (recorded in the results "
        "folder, left out of every table):"
    ]
    counts = failures["error"].fillna("").astype(str).value_counts()
    for error, count in counts.head(5).items():
        lines.append(f"  {count} x {_clean(error) or 'unknown error'}")
    if len(counts) > 5:
        lines.append(f"  ... and {len(counts) - 5} other errors")
    return lines, failures_exit(len(failures), total)


def _clean(text: str) -> str:
    """One line of at most 300 characters, without control characters."""
    one = " ".join(str(text).split())
    one = "".join(ch for ch in one if ch.isprintable())
    return one if len(one) <= 300 else one[:297] + "..."


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def _pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.0%}"


def _kpi_table(summary: pd.DataFrame, names: list[str] | None) -> str:
    import pandas as pd

    frame = summary if names is None else summary[summary["kpi"].isin(names)]
    if names is not None:
        frame = frame.set_index("kpi").reindex([k for k in names if k in set(frame["kpi"])])
        frame = frame.reset_index()
    rows = [
        [
            r.kpi,
            _num(r.mean),
            f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
            _num(r.p05),
            _num(r.p50),
            _num(r.p95),
        ]
        for r in frame.itertuples()
    ]
    table = pd.DataFrame(rows, columns=["KPI", "mean", "95% CI", "p05", "p50", "p95"])
    return table.to_string(index=False)


def _bands_table(bands: pd.DataFrame, names: list[str]) -> str:
    import pandas as pd

    cols = {}
    for name in names:
        part = bands[bands["series"] == name].set_index("date")
        if part.empty:
            continue
        cols[name] = [f"{_num(r.p50)} [{_num(r.p05)}-{_num(r.p95)}]" for r in part.itertuples()]
        dates = part.index
    if not cols:
        return "(no daily series)"
    table = pd.DataFrame(cols, index=[d.strftime("%Y-%m-%d") for d in dates])
    table.index.name = "day"
    return table.to_string()


def present_replications(reps: Replications, all_kpis: bool = False) -> str:
    """Plain-text report of replications: KPIs, deadline answers, daily bands."""
    import pandas as pd

    cats = list(reps.scenario.demand)
    names = None if all_kpis else [*HEADLINE, *(f"evacuated.{c}" for c in cats)]
    n_ok = len(reps.reps)
    lines = [
        f"Scenario: {reps.scenario.name}   replications: {n_ok} of {reps.n}   "
        f"root seed: {reps.seed}",
        "",
    ]
    if n_ok == 0:
        lines.append("No replication finished.")
    else:
        lines += [_kpi_table(reps.summary(), names), ""]
        drawn = reps.deadlines()
        if len(drawn):
            d = reps.scenario.deadline
            fmt = lambda t: pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")  # noqa: E731
            got = dict(zip(drawn["statistic"], drawn["deadline"], strict=True))
            lines += [
                f"Deadline uncertain ({d.dist}, {fmt(d.low)} to {fmt(d.high)}), drawn per "
                f"replication: p05 {fmt(got['p05'])}, median {fmt(got['p50'])}, "
                f"p95 {fmt(got['p95'])}; every answer below is over these deadlines.",
                "",
            ]
        lines += [
            "Deadline: P(everyone eligible is out), by category "
            "(not out = pool - evacuated - turned away):"
        ]
        allout = reps.all_out()
        lines.append(
            pd.DataFrame(
                [
                    [
                        r.category,
                        _pct(r.p_all_out),
                        f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}]",
                        _num(r.mean_not_out),
                    ]
                    for r in allout.itertuples()
                ],
                columns=["category", "P(all out)", "95% CI", "mean not out"],
            ).to_string(index=False)
        )
        left = reps.left_behind()
        lines += [
            "",
            "People left behind at the deadline (arrived, not out), over replications:",
            pd.DataFrame(
                [
                    [
                        r.category,
                        _num(r.mean),
                        _num(r.p05),
                        _num(r.p50),
                        _num(r.p95),
                        _num(r.max),
                        _pct(r.p_zero),
                    ]
                    for r in left.itertuples()
                ],
                columns=["category", "mean", "p05", "p50", "p95", "max", "P(none)"],
            ).to_string(index=False),
        ]
        lines += [
            "",
            "Daily: median [5%-95%] over replications",
            _bands_table(reps.bands(), ["evacuated", "backlog.outside", "backlog.inside_waiting"]),
        ]
    failed, _ = failure_summary(reps.failures(), reps.n)
    if failed:
        lines += ["", *failed]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ handlers


@_user_errors
def run_replications(args: argparse.Namespace, scenario: Scenario) -> int:
    """``evacsim run SCENARIO -n N``: replications with CIs, bands and deadline answers."""
    from evacsim.experiments.replications import replicate

    if args.replications < 1:
        raise ValueError(f"-n must be 1 or more replications, got {args.replications}")
    reps = replicate(
        scenario,
        args.replications,
        args.seed,
        out=args.out,
        **engine_kwargs(args),
        allow_large=args.allow_large,
    )
    print(present_replications(reps, args.all_kpis))
    if args.out or getattr(args, "report", False):
        reps.write()
    if args.out:
        print(
            f"\nResults written to {reps.store.root}/ (one file per replication; rerun to resume)"
        )
    _maybe_report(args, reps.store.root, f"{scenario.name}-report.html")
    return failure_summary(reps.failures(), reps.n)[1]


def _maybe_report(args: argparse.Namespace, folder: Path, default_name: str) -> None:
    """With ``--report``: the folder's HTML report, in the folder (with --out) or here."""
    if not getattr(args, "report", False):
        return
    from evacsim.experiments.reports import write_folder_report

    # Never a path from scenario text: the name is made a safe file name in this folder.
    target = Path(folder) / "report.html" if args.out else default_output(default_name, "")
    print(f"Report written to {write_folder_report(folder, target)}")


@_user_errors
def cmd_compare(args: argparse.Namespace) -> int:
    """``evacsim compare BASE ALT... -n N``: paired differences and a ranking."""
    import pandas as pd

    from evacsim.experiments.compare import compare, lower_is_better

    labels: list[str] = []
    for path in args.scenarios:  # file stems, made distinct: base, alt, alt_2 ...
        label, k = path.stem, 2
        while label in labels:
            label, k = f"{path.stem}_{k}", k + 1
        labels.append(label)
    scenarios = [checked_scenario(path, args) for path in args.scenarios]
    result = compare(
        scenarios,
        args.replications,
        args.seed,
        labels=labels,
        out=args.out,
        allow_large=True,
        **engine_kwargs(args),
    )  # each checked just above
    names = list(dict.fromkeys([args.kpi, *HEADLINE]))
    summary = result.summary()
    means = summary[summary["kpi"].isin(names)].pivot(
        index="kpi", columns="scenario", values="mean"
    )
    # A scenario whose replications all failed has no column: show it as '-'.
    means = means.reindex([k for k in names if k in means.index]).reindex(columns=result.labels)
    lines = [
        f"{len(result.labels)} scenarios × {args.replications} replications, root seed "
        f"{args.seed} (common random numbers)",
        "",
        "Means:",
        means.map(_num).to_string(),
        "",
        f"Paired differences versus {result.base} (alternative - base), 95% CI:",
    ]
    diffs = result.differences(names)
    lines.append(
        pd.DataFrame(
            [
                [
                    r.scenario,
                    r.kpi,
                    _num(r.diff),
                    f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
                    "-" if math.isnan(r.p_value) else f"{r.p_value:.3g}",
                ]
                for r in diffs.itertuples()
            ],
            columns=["scenario", "KPI", "difference", "95% CI", "p"],
        ).to_string(index=False)
    )
    maximize = args.maximize if args.maximize is not None else not lower_is_better(args.kpi)
    ranking = result.ranking(args.kpi, maximize)
    lines += [
        "",
        f"Ranking on {args.kpi} ({'higher' if maximize else 'lower'} is better):",
        pd.DataFrame(
            [
                [
                    r.rank,
                    r.scenario,
                    _num(r.mean),
                    f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
                    _num(r.gap_to_best),
                    _pct(r.p_best),
                ]
                for r in ranking.itertuples()
            ],
            columns=["rank", "scenario", "mean", "95% CI", "gap to best", "P(best)"],
        ).to_string(index=False),
    ]
    failures = pd.concat([r.failures() for r in result.runs.values()], ignore_index=True)
    failed, code = failure_summary(failures, args.replications * len(result.labels))
    print("\n".join([*lines, *([""] + failed if failed else [])]))
    folder = result.write(kpi=args.kpi, maximize=maximize)
    if args.out:
        print(f"\nResults written to {folder}/")
    _maybe_report(args, Path(folder), "compare-report.html")
    return code


def _is_sweep_file(path: Path) -> bool:
    from evacsim.scenario.loader import read_yaml

    data = read_yaml(path)
    return isinstance(data, dict) and "base" in data and "demand" not in data


@_user_errors
def cmd_sweep(args: argparse.Namespace) -> int:
    """``evacsim sweep FILE [--vary PATH=V1,V2]``: a grid × hypercube of points."""
    from evacsim.experiments.sweep import SweepSpec, load_sweep, parse_vary, sweep

    factors = parse_vary(args.vary)
    if _is_sweep_file(args.file):
        spec, base = load_sweep(args.file, args.overrides, allow_dirs=args.allow_dirs)
        spec_or_file = spec
        if factors:
            spec_or_file = SweepSpec.model_validate(
                {**spec.model_dump(), "levers": {**spec.levers, **factors}}
            )
    else:
        if not factors:
            raise ValueError("a scenario file needs at least one --vary PATH=V1,V2,...")
        spec_or_file = SweepSpec(
            base=str(args.file), name=args.file.stem, levers=factors, samples=args.samples or 0
        )
        base = checked_scenario(args.file, args)
    result = sweep(
        spec_or_file,
        base,
        replications=args.replications,
        samples=args.samples,
        seed=args.seed,
        out=args.out,
        allow_large=args.allow_large,
        allow_dirs=args.allow_dirs,
        **engine_kwargs(args),
    )
    kpis = args.kpi or ["left_behind", "evacuated"]
    summary = result.summary()
    known = set(summary["kpi"])
    for k in kpis:
        if k not in known and known:  # (nothing is known when every replication failed)
            raise KeyError(f"unknown KPI '{k}' (expected one of: {', '.join(sorted(known))})")
    table = result.points_table().drop(columns="scenario").set_index("point")
    for k in kpis:
        part = summary[summary["kpi"] == k].set_index("point")
        cells = {
            r.Index: f"{_num(r.mean)} [{_num(r.ci_low)}, {_num(r.ci_high)}]"
            for r in part.itertuples()
        }
        # A point whose replications all failed has no statistics: shown as '-'.
        table[f"{k} mean [95% CI]"] = [cells.get(i, "-") for i in table.index]
    spec = result.spec
    print(
        f"Sweep {spec.name}: {len(result.points)} points × {spec.replications} replications, "
        f"root seed {spec.seed}"
    )
    print(table.to_string())
    failed, code = failure_summary(result.failures(), len(result.points) * spec.replications)
    if failed:
        print("\n" + "\n".join(failed))
    out = result.write()
    if args.out:
        print(f"\nTidy table (point × replication × KPI) written to {out}/sweep_kpis.parquet")
    _maybe_report(args, Path(out), f"{spec.name or 'sweep'}-report.html")
    return code


def goal_lever(args: argparse.Namespace) -> tuple[str, str, float, float]:
    """Path, mode and range of ``--lever PATH=LO..HI`` (``+=``, ``*=``), or of the older
    ``--lever PATH --mode M --low A --high B``. ValueError saying what is expected."""
    from evacsim.experiments.levers import LeverSyntaxError, Range, parse_lever

    if "=" not in args.lever:
        if args.low is None or args.high is None:
            raise ValueError(
                f"--lever {args.lever}: expected PATH=LO..HI (e.g. "
                "screening.lanes=20..90), or --low and --high"
            )
        return args.lever.strip(), args.mode or "set", float(args.low), float(args.high)
    if args.low is not None or args.high is not None or args.mode is not None:
        raise ValueError(
            f"--lever {args.lever}: the range is in the lever; drop --low, --high and --mode"
        )
    try:
        lever = parse_lever(args.lever, several=True, example="screening.lanes=20..90")
    except LeverSyntaxError as exc:
        raise ValueError(f"--lever {args.lever}: {exc}") from None
    bounds = lever.value
    if not isinstance(bounds, Range) or not all(
        isinstance(b, int | float) and not isinstance(b, bool) for b in (bounds.low, bounds.high)
    ):
        raise ValueError(
            f"--lever {args.lever}: expected a range of numbers LO..HI (e.g. "
            f"{lever.path}{lever.op}0..20)"
        )
    return lever.path, lever.mode, float(bounds.low), float(bounds.high)


@_user_errors
def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``evacsim sensitivity SCENARIO [--param PATH=LOW:HIGH]``: Sobol or Morris indices."""
    from evacsim.experiments.sensitivity import sensitivity

    scenario = checked_scenario(args.scenario, args)
    result = sensitivity(
        scenario,
        args.param,
        method=args.method,
        samples=args.samples,
        replications=args.replications,
        seed=args.seed,
        kpis=args.kpi,
        resamples=args.resamples,
        out=args.out,
        **engine_kwargs(args),
    )
    print(result.summary())
    if args.out:
        print(f"\nPoints, outputs and indices written to {args.out}/")
    _maybe_report(args, result.store.root, f"{scenario.name}-sensitivity-report.html")
    return EXIT_OK


@_user_errors
def cmd_goalseek(args: argparse.Namespace) -> int:
    """``evacsim goalseek SCENARIO --lever PATH=LO..HI --at-most N --prob p``."""
    import pandas as pd

    from evacsim.experiments.goalseek import goal_seek

    try:
        path, mode, low, high = goal_lever(args)
    except ValueError as exc:  # an argument mistake: one line, exit 2 like the others
        print(f"evacsim goalseek: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if low.is_integer() and high.is_integer() and (args.step is None or args.step.is_integer()):
        low, high = int(low), int(high)
    scenario = checked_scenario(args.scenario, args)
    result = goal_seek(
        scenario,
        path,
        low,
        high,
        at_most=args.at_most,
        probability=args.prob,
        kpi=args.kpi,
        mode=mode,
        step=args.step,
        n=args.replications,
        seed=args.seed,
        conservative=args.conservative,
        out=args.out,
        **engine_kwargs(args),
        allow_large=args.allow_large,
    )
    ev = result.evaluations.sort_values("value")
    print(
        pd.DataFrame(
            [
                [
                    r.value,
                    _pct(r.p),
                    f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}]",
                    "yes" if r.satisfied else "no",
                    _num(r.kpi_mean),
                    _num(r.kpi_p95),
                ]
                for r in ev.itertuples()
            ],
            columns=[
                f"{path} ({mode})",
                f"P({args.kpi}<={_num(args.at_most)})",
                "95% CI",
                "goal met",
                f"mean {args.kpi}",
                "p95",
            ],
        ).to_string(index=False)
    )
    print()
    print(result.message())
    if args.out:
        print(f"\nEvaluations written to {args.out}/goalseek.json")
    return EXIT_OK if result.found else EXIT_GOAL_NOT_REACHED
