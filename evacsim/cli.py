"""Command line: parse arguments, call the library, present the answer.

``evacsim run SCENARIO --out DIR`` runs one replication and writes its tables. Every user
mistake ends in one line per problem on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .loader import ScenarioError, load_scenario

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE, EXIT_FAILED = 0, 1, 2, 3


def _report_scenario_error(err: ScenarioError) -> int:
    for problem in err.problems:
        print(str(problem), file=sys.stderr)
    return EXIT_UNREADABLE if err.unreadable else EXIT_INVALID


def cmd_run(args: argparse.Namespace) -> int:
    from .model import build

    scenario = load_scenario(args.scenario)
    model = build(scenario, args.seed, keep_records=not args.no_group_records)
    result = model.run().results()
    print(result.summary())
    if args.out:
        out = result.write(args.out)
        print(f"\nResults written to {out}/")
    return EXIT_OK


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evacsim", description="Evacuation airlift simulator (SimPy, YAML scenarios)."
    )
    parser.add_argument("--version", action="version", version=f"evacsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and report throughput and backlog")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="folder for CSV/Parquet tables and provenance")
    run.add_argument("--seed", type=int, default=0, help="root random seed (default 0)")
    run.add_argument(
        "--no-group-records",
        action="store_true",
        help="do not keep one record per group (flat memory for very large runs)",
    )
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except ScenarioError as err:
        return _report_scenario_error(err)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"evacsim: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
