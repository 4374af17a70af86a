"""Acceptance: the shared AWS tutorial passes, unchanged, against a fresh cloudlet."""

from __future__ import annotations

from pathlib import Path

import pytest

from .tutorial_runner import TUTORIAL, format_steps, run_tutorial


@pytest.mark.skipif(not TUTORIAL.exists(), reason="../shared/tutorial is not beside the checkout")
def test_tutorial_passes_with_the_stock_cli(cloudlet_factory, tmp_path: Path) -> None:
    server = cloudlet_factory()
    run = run_tutorial(server.env, tmp_path / "work")
    print("\n" + format_steps(run))
    assert run.passed, (
        f"tutorial failed (exit {run.returncode})\n--- tutorial output (tail) ---\n"
        + "\n".join(run.output.splitlines()[-60:])
        + "\n--- cloudlet log (tail) ---\n"
        + server.log_tail(80)
    )
