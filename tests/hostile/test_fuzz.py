"""A fuzzer: hostile scenario values and CLI arguments never crash, hang or eat the machine.

Hypothesis mutates one or more values of a small scenario (numbers, durations, names,
distributions, mappings, NaN, 1e308, control characters...) and the command's arguments,
then runs ``evacsim validate`` or ``evacsim run`` in a child process forked from this one,
with a CPU-time alarm and an address-space limit (``resource.setrlimit``) set in the child.
It asserts: no traceback, exit code 0, 1 or 2, and completion within the limits.

The default tier runs a modest number of examples; ``-m slow`` runs many more.
"""

from __future__ import annotations

import copy
import os
import resource
import signal
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import TINY

TIME_LIMIT_S = 60
ADDRESS_SPACE_EXTRA = 3 * 2**30  # bytes the child may map beyond what it inherits

PATHS = [
    ("demand", "people", "pool"),
    ("demand", "people", "arrivals_per_day"),
    ("demand", "people", "group_size"),
    ("demand", "people", "patience"),
    ("demand", "people", "return_after"),
    ("demand", "people", "return_probability"),
    ("demand", "people", "priority"),
    ("demand", "people", "label"),
    ("gates", "main", "throughput_per_h"),
    ("gates", "main", "batch"),
    ("gates", "main", "daily_hours"),
    ("gates", "main", "order"),
    ("screening", "lanes"),
    ("screening", "service"),
    ("screening", "per_person"),
    ("airfield", "runways"),
    ("airfield", "separation"),
    ("airfield", "ramp_capacity"),
    ("aircraft", "plane", "seats"),
    ("aircraft", "plane", "turnaround"),
    ("flights", "shuttle", "per_day"),
    ("flights", "shuttle", "destinations"),
    ("staging", "base", "capacity"),
    ("staging", "base", "onward_per_day"),
    ("staging", "base", "flight_time"),
    ("holding", "capacity"),
    ("name",),
    ("deadline",),
]

NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**63, 10**9, 1e308, -1e308, 1e-308, 0.5]),
)
DURATIONS = st.builds(
    lambda n, u: f"{n}{u}",
    st.one_of(
        st.sampled_from(["0", "-5", "1e308", "1e-12", "nan", ".5", "3"]),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
    ),
    st.sampled_from(["h", "min", "s", "d", "w", "parsecs", ""]),
)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["\x1b]0;owned\x07", "../../x", "/etc/passwd", "\x00", "\u202e", ".nan"]
)
DISTRIBUTIONS = st.fixed_dictionaries(
    {
        "dist": st.sampled_from(
            ["fixed", "exponential", "lognormal", "gamma", "uniform", "triangular", "zipf"]
        )
    },
    optional={
        "mean": DURATIONS,
        "cv": NUMBERS,
        "value": DURATIONS,
        "low": DURATIONS,
        "high": DURATIONS,
        "mode": DURATIONS,
    },
)
LEAVES = st.one_of(NUMBERS, DURATIONS, TEXT, st.none(), st.booleans())
VALUES = st.one_of(
    LEAVES,
    DISTRIBUTIONS,
    st.lists(LEAVES, max_size=3),
    st.dictionaries(st.one_of(NUMBERS, TEXT), st.one_of(NUMBERS, DURATIONS), max_size=3),
)
ARGUMENTS = st.lists(
    st.sampled_from(
        [
            ["-n", "0"],
            ["-n", "2"],
            ["-n", "-3"],
            ["-n", "1e9"],
            ["--seed", "-1"],
            ["--seed", "99999999999999999999999"],
            ["--seed", "x"],
            ["--workers", "0"],
            ["--workers", "3"],
            ["--allow-large"],
            ["--no-group-records"],
            ["--report"],
        ]
    ),
    max_size=2,
).map(lambda groups: [arg for group in groups for arg in group])


def _set(data: dict, path: tuple[str, ...], value) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[path[-1]] = value


def _run_limited(argv: list[str], cwd: str) -> tuple[int, str]:
    """Run ``evacsim ARGV`` in a forked child under time and address-space limits; return
    (exit code, or -signal; stderr)."""
    err_path = os.path.join(cwd, "stderr.txt")
    pid = os.fork()
    if pid == 0:  # the child: limits first, then the command; never returns
        code = 99
        try:
            fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.chdir(cwd)
            with open("/proc/self/statm") as statm:
                mapped = int(statm.read().split()[0]) * resource.getpagesize()
            limit = mapped + ADDRESS_SPACE_EXTRA
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            signal.alarm(TIME_LIMIT_S)  # SIGALRM ends a hang
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the child exits right after
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            from evacsim.cli.main import main

            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 2
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 98
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(err_path, encoding="utf-8", errors="replace") as handle:
        return code, handle.read()


def _check(data: dict, command: str, extra: list[str], tmp_path) -> None:
    folder = tmp_path / f"case{os.getpid()}_{abs(hash(repr(data))) % 10**8}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    argv = [command, str(path), *(extra if command == "run" else [])]
    if command == "run" and "-n" in argv:
        argv += ["--engine", "sequential"]
    code, err = _run_limited(argv, str(folder))
    assert code in (0, 1, 2), f"exit {code} for {argv}\n{err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]


def _mutations(n: int):
    return st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=n)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutations=_mutations(3), command=st.sampled_from(["validate", "run"]), extra=ARGUMENTS)
def test_fuzzed_scenarios_and_arguments(mutations, command, extra, tmp_path):
    data = copy.deepcopy(TINY)
    for path, value in mutations:
        _set(data, path, value)
    _check(data, command, extra, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutations=_mutations(6), command=st.sampled_from(["validate", "run"]), extra=ARGUMENTS)
def test_fuzzed_scenarios_and_arguments_many(mutations, command, extra, tmp_path):
    data = copy.deepcopy(TINY)
    for path, value in mutations:
        _set(data, path, value)
    _check(data, command, extra, tmp_path)
