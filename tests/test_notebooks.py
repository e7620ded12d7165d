"""Notebooks: committed without outputs, and executed end to end (any error fails the run)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_two_notebooks_are_there():
    assert [p.name for p in PATHS] == ["01_guided_tour.ipynb", "02_what_if_study.ipynb"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs: strip them"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} was executed"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_executes(path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=240, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{path.name} failed:\n{err}")
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert errors == []
    images = sum(
        1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    )
    assert images >= 5, f"{path.name} drew {images} charts"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_passes_ruff(path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_what_if_conclusion_is_computed_not_written():
    """The planner's conclusion (section 5 on) states nothing by hand: no number in its prose;
    the conclusion is formatted from the comparison tables and checked by assertions."""
    nb = nbformat.read(NOTEBOOKS / "02_what_if_study.ipynb", as_version=4)
    start = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown" and "conclusion" in c.source.lower()
    )
    after = nb.cells[start:]
    prose = "".join(c.source.split("\n", 1)[-1] for c in after if c.cell_type == "markdown")
    assert not any(ch.isdigit() for ch in prose), prose
    code = "\n".join(c.source for c in after if c.cell_type == "code")
    assert "Markdown(conclusion)" in code and code.count("assert ") >= 8
