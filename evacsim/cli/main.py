"""Command line: parse arguments, call the library, present the answer.

``evacsim run SCENARIO --out DIR`` runs one replication and writes its tables. Every user
mistake ends in one line per problem on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from evacsim.version import __version__

from .experiments import EXIT_ALL_FAILED, EXIT_SOME_FAILED
from .options import add_scenario_options, checked_scenario, over_budget, report_scenario_error
from .safety import (
    CONFIDENCE,
    POINTS,
    REPLICATIONS,
    ROUNDS,
    SEED,
    OneLineParser,
    default_output,
    install_safe_streams,
)

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE, EXIT_FAILED = 0, 1, 2, 3
__all__ = ["EXIT_ALL_FAILED", "EXIT_SOME_FAILED", "main", "make_parser"]


def cmd_validate(args: argparse.Namespace) -> int:
    from evacsim.scenario.loader import ScenarioError, check_scenario, dump_scenario

    worst = EXIT_OK
    for path in args.files:
        try:
            scenario, problems = check_scenario(path, args.overrides, allow_dirs=args.allow_dirs)
        except ScenarioError as err:
            worst = max(worst, report_scenario_error(err))
            continue
        for problem in problems:
            print(str(problem), file=sys.stderr)
        if scenario is not None and not any(p.severity == "error" for p in problems):
            over = over_budget(path, scenario, args)
            problems += over
            for problem in over:
                print(str(problem), file=sys.stderr)
        if scenario is None or any(p.severity == "error" for p in problems):
            worst = max(worst, EXIT_INVALID)
        elif args.print_resolved:
            print(dump_scenario(scenario), end="")
        else:
            print(f"{path}: valid" + (f" ({len(problems)} warnings)" if problems else ""))
    return worst


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from evacsim.scenario.reference import scenario_json_schema, scenario_reference

    if args.format == "markdown":
        print(scenario_reference(), end="")
    else:
        print(json.dumps(scenario_json_schema(), indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from evacsim.model.model import build
    from evacsim.results.result import collect

    _check_out_folder(args.out)  # before minutes of simulation, not after
    scenario = checked_scenario(args.scenario, args)
    if args.replications is not None:
        from .experiments import run_replications

        return run_replications(args, scenario)
    model = build(scenario, args.seed, keep_records=not args.no_group_records)
    result = collect(model.run())
    print(result.summary())
    if args.out:
        out = result.write(args.out)
        print(f"\nResults written to {out}/")
    if args.report:
        from evacsim.results.report import write_report

        target = (
            args.out / "report.html" if args.out else default_output(scenario.name, "-report.html")
        )
        print(f"Report written to {write_report(result, target)}")
    return EXIT_OK


def _check_out_folder(out: Path | None) -> None:
    """``--out`` must be a folder that exists or can be made: refuse a file at once."""
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise OutFolderError(f"--out {out}: is a file (expected a folder for the results)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutFolderError(
            f"--out {out}: cannot make the folder ({err.strerror or err})"
        ) from None


class OutFolderError(Exception):
    """``--out`` names something that cannot be a results folder (exit 2)."""


def cmd_report(args: argparse.Namespace) -> int:
    from evacsim.experiments.reports import write_folder_report
    from evacsim.results.report import ResultsError

    try:
        path = write_folder_report(args.results_dir, args.out, goal=args.goal)
    except ResultsError as err:
        print(f"evacsim report: {err}", file=sys.stderr)
        return EXIT_UNREADABLE
    except (ValueError, KeyError) as err:
        print(f"evacsim report: {err.args[0] if err.args else err}", file=sys.stderr)
        return EXIT_INVALID
    print(f"Report written to {path}")
    return EXIT_OK


def cmd_charts(args: argparse.Namespace) -> int:
    from evacsim.results.charts import save_charts
    from evacsim.results.report import ResultsError, read_results

    try:
        result = read_results(args.results_dir)
    except ResultsError as err:
        print(f"evacsim charts: {err}", file=sys.stderr)
        return EXIT_UNREADABLE
    out = args.out or args.results_dir / "charts"
    for path in save_charts(result, out, formats=[args.format]):
        print(path)
    return EXIT_OK


def _observed_problems(err) -> int:
    for problem in err.problems:
        print(str(problem), file=sys.stderr)
    return EXIT_INVALID


def _local_by_default(kwargs: dict) -> dict:
    """On the command line every experiment runs on local workers unless told otherwise
    (the Python functions backtest and calibrate default to sequential)."""
    if kwargs["engine"] is None and not kwargs["scheduler"]:
        kwargs["engine"] = "local"
    return kwargs


def cmd_backtest(args: argparse.Namespace) -> int:
    from evacsim.experiments.backtest import ObservedDataError, ReplicationsFailed, backtest

    from .experiments import EXIT_ALL_FAILED, engine_kwargs, failures_exit

    scenario = checked_scenario(args.scenario, args)
    try:
        result = backtest(
            scenario,
            args.observed,
            seed=args.seed,
            replications=args.replications,
            out=args.out,
            **_local_by_default(engine_kwargs(args)),
        )
    except ObservedDataError as err:
        return _observed_problems(err)
    except ReplicationsFailed as err:
        print(f"evacsim backtest: {err}", file=sys.stderr)
        return EXIT_ALL_FAILED
    print(result.summary())
    if args.out:
        print(f"\nTables and overlay chart written to {result.write(args.out)}/ (rerun to resume)")
    else:
        png = default_output(scenario.name, "-backtest.png")
        result.figure().savefig(png, dpi=120)
        print(f"\nOverlay chart written to {png}")
    return failures_exit(len(result.failures), args.replications)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from evacsim.experiments.backtest import (
        ObservedDataError,
        ReplicationsFailed,
        calibrate,
        parse_parameter,
    )

    from .experiments import EXIT_ALL_FAILED, engine_kwargs, failures_exit

    scenario = checked_scenario(args.scenario, args)
    if (args.observed is None) == (args.targets is None):
        print(
            "evacsim calibrate: give one of --observed FILE.csv (a daily series) or "
            "--targets FILE.csv (counts as of times, KPIs)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.targets is not None:
        return _calibrate_targets(args, scenario)
    out = args.out or default_output(scenario.name, "-calibration")
    try:
        params = [parse_parameter(text) for text in args.param]
        result = calibrate(
            scenario,
            args.observed,
            params,
            seed=args.seed,
            replications=args.replications,
            points=args.points,
            rounds=args.rounds,
            confidence=args.confidence,
            out=out,
            **_local_by_default(engine_kwargs(args)),
        )
    except ObservedDataError as err:
        return _observed_problems(err)
    except ReplicationsFailed as err:
        print(f"evacsim calibrate: {err}", file=sys.stderr)
        return EXIT_ALL_FAILED
    except ValueError as err:
        print(f"evacsim calibrate: {err}", file=sys.stderr)
        return EXIT_INVALID
    print(result.summary())
    out = result.write(out)
    print(
        f"\nEstimates, evaluations, fitted scenario and charts written to {out}/ (rerun to resume)"
    )
    return failures_exit(result.failed, len(result.evaluations) * result.replications)


def _calibrate_targets(args: argparse.Namespace, scenario) -> int:
    """``evacsim calibrate --targets``: fit against a record of targets; ``--record`` writes
    the fit as Markdown with the command that made it (rerun it to regenerate the file)."""
    from evacsim.experiments.backtest import ObservedDataError
    from evacsim.experiments.targets import calibrate_targets

    from .experiments import engine_kwargs

    try:
        result = calibrate_targets(
            scenario,
            args.targets,
            args.param,
            seed=args.seed,
            replications=args.replications,
            points=args.points or 3,
            rounds=args.rounds,
            confidence=args.confidence,
            **engine_kwargs(args),
        )
    except ObservedDataError as err:
        return _observed_problems(err)
    except (ValueError, RuntimeError) as err:
        print(f"evacsim calibrate: {err}", file=sys.stderr)
        return EXIT_INVALID
    print(result.summary())
    if args.out:
        out = result.write(args.out)
        print(f"\nEstimates, evaluations and the targets' fit written to {out}/")
    if args.record:
        command = ["evacsim", *sys.argv[1:]] if args.argv is None else ["evacsim", *args.argv]
        args.record.write_text(result.record(command), encoding="utf-8")
        print(f"Calibration record written to {args.record}")
    return EXIT_OK


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="evacsim", description="Evacuation airlift simulator (SimPy, YAML scenarios)."
    )
    parser.add_argument("--version", action="version", version=f"evacsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    from .experiments import add_commands, add_run_options

    run = sub.add_parser("run", help="run a scenario and report throughput and backlog")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="folder for CSV/Parquet tables and provenance")
    run.add_argument("--seed", type=SEED, default=0, help="root random seed (default 0)")
    run.add_argument(
        "--no-group-records",
        action="store_true",
        help="do not keep one record per group (flat memory for very large runs)",
    )
    run.add_argument(
        "--report",
        action="store_true",
        help="also write a self-contained HTML report (OUT/report.html, or "
        "NAME-report.html here without --out); with -n, the replications report",
    )
    add_run_options(run)  # -n N replications and the experiment engine options
    add_scenario_options(run)
    run.set_defaults(func=cmd_run)

    val = sub.add_parser(
        "validate", help="check scenario files; every mistake as FILE:LINE: path: message"
    )
    val.add_argument("files", type=Path, nargs="+", metavar="FILE", help="scenario YAML files")
    add_scenario_options(val)
    val.add_argument(
        "--print-resolved",
        action="store_true",
        help="print the resolved scenario (extends and --set applied) as YAML",
    )
    val.set_defaults(func=cmd_validate)

    schema = sub.add_parser("schema", help="print the scenario JSON Schema (or Markdown reference)")
    schema.add_argument("--format", choices=["json", "markdown"], default="json")
    schema.set_defaults(func=cmd_schema)

    report = sub.add_parser(
        "report",
        help="write a self-contained HTML report of any results folder",
        description="The kind is detected from the folder: one run (run --out), replications "
        "(run -n --out), compare, sweep, sensitivity, backtest or calibrate.",
    )
    report.add_argument("results_dir", type=Path, help="a folder written with --out")
    report.add_argument("--out", type=Path, help="HTML file (default RESULTS_DIR/report.html)")
    report.add_argument(
        "--goal",
        metavar="KPI<=N",
        help="sweeps: the goal for the robustness table, e.g. not_out<=5000 "
        "(default: not_out at most its median over the points)",
    )
    report.set_defaults(func=cmd_report)

    chart = sub.add_parser("charts", help="write the charts of a run as PNG or SVG files")
    chart.add_argument("results_dir", type=Path, help="folder written by evacsim run --out")
    chart.add_argument("--format", choices=["png", "svg"], default="png", help="default png")
    chart.add_argument("--out", type=Path, help="folder (default RESULTS_DIR/charts)")
    chart.set_defaults(func=cmd_charts)
    add_commands(sub)  # compare, sweep, goalseek (evacsim.experiments.commands)
    from .experiments import add_engine_options

    bt = sub.add_parser(
        "backtest",
        help="compare a scenario's daily evacuated with an "
        "observed series (CSV: date,evacuated[,flights])",
    )
    bt.add_argument("scenario", type=Path, help="scenario YAML file")
    bt.add_argument("--observed", type=Path, required=True, metavar="FILE.csv")
    bt.add_argument(
        "-n",
        "--replications",
        type=REPLICATIONS,
        default=10,
        metavar="N",
        help="replications for the model mean and band (default 10)",
    )
    bt.add_argument("--seed", type=SEED, default=0, help="root random seed (default 0)")
    bt.add_argument(
        "--out",
        type=Path,
        help="folder for metrics, daily tables, overlay.png and "
        "every replication (resumable; default: only "
        "NAME-backtest.png here)",
    )
    add_engine_options(bt)
    add_scenario_options(bt)
    bt.set_defaults(func=cmd_backtest)

    cal = sub.add_parser(
        "calibrate",
        help="fit uncertain inputs to an observed daily series "
        "(least squares over replicated runs)",
    )
    cal.add_argument("scenario", type=Path, help="scenario YAML file")
    cal.add_argument(
        "--observed",
        type=Path,
        metavar="FILE.csv",
        help="observed daily series (date,evacuated[,flights])",
    )
    cal.add_argument(
        "--targets",
        type=Path,
        metavar="FILE.csv",
        help="instead of --observed: targets (quantity,from,to,low,high[,weight,"
        "source]): counts as of a time or over a window, per operator, and "
        "KPIs, each with the band the record allows",
    )
    cal.add_argument(
        "--record",
        type=Path,
        metavar="FILE.md",
        help="with --targets: write the fit as a Markdown record with this command",
    )
    cal.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="PATH=LO..HI",
        help="input to fit and its range, e.g. screening.lanes=20..90 or "
        "screening.service.mean=3min..12min; PATH*=LO..HI scales every "
        "number at PATH (a step profile); repeatable",
    )
    cal.add_argument(
        "-n",
        "--replications",
        type=REPLICATIONS,
        default=4,
        metavar="N",
        help="replications per design point (default 4)",
    )
    cal.add_argument(
        "--points",
        type=POINTS,
        default=None,
        help="grid points per parameter and round (default 9, 5 or 3 for 1, 2, more parameters)",
    )
    cal.add_argument(
        "--rounds",
        type=ROUNDS,
        default=3,
        help="grid rounds, each zooming on the best point (default 3)",
    )
    cal.add_argument(
        "--confidence",
        type=CONFIDENCE,
        default=0.95,
        help="level of the parameters' confidence region (default 0.95)",
    )
    cal.add_argument("--seed", type=SEED, default=0, help="root random seed (default 0)")
    cal.add_argument(
        "--out",
        type=Path,
        help="results folder, every replication of every point "
        "included (resumable; default NAME-calibration)",
    )
    add_engine_options(cal)
    add_scenario_options(cal)
    cal.set_defaults(func=cmd_calibrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # the command as given (None: sys.argv), for records that name it
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # After parsing, so that --help never loads them.
    from evacsim.experiments.engines import EngineUnavailable
    from evacsim.scenario.loader import ScenarioError

    previous = _stop_on_sigterm()
    streams = install_safe_streams()  # scenario text must not drive the terminal
    try:
        return args.func(args)
    except ScenarioError as err:
        return report_scenario_error(err)
    except OutFolderError as err:
        print(f"evacsim {args.command}: {err}", file=sys.stderr)
        return EXIT_UNREADABLE
    except EngineUnavailable as err:
        print(f"evacsim {args.command}: {err}", file=sys.stderr)
        return EXIT_UNREADABLE  # 2: the command cannot run as asked here
    except KeyboardInterrupt as exc:
        # Workers were stopped on the way out; every replication written stays written.
        terminated = isinstance(exc, Terminated)
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    except OSError as err:
        print(f"evacsim: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line, and the traceback with --verbose
        if args.verbose:
            raise
        print(
            f"evacsim {args.command}: unexpected error: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]} (rerun with -v for the traceback; please "
            "report it)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        sys.stdout, sys.stderr = streams
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, a batch scheduler): stop as for Ctrl-C, exit 143."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _stop_on_sigterm():
    """Turn SIGTERM into :class:`Terminated` while a command runs; the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None  # only the main thread may set handlers (e.g. main() called from a thread)
    return signal.signal(signal.SIGTERM, _raise_terminated)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
