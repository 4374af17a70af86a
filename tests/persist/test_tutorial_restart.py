"""The stock tutorial across restarts: its creating steps, kill -9, then its invoke and
clean-up steps against what the restarted cloudlet restored (nothing re-created);
then, after another restart, the whole tutorial again (its deletions were kept too)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from acceptance.tutorial_runner import TUTORIAL, run_tutorial

INVOKE_STEP = 'step "3 invoke it"'


def _split_tutorial(dest: Path) -> tuple[Path, Path]:
    """The stock script, cut before step 3: its steps 1-2, and its preamble with steps 3-4."""
    text = TUTORIAL.read_text()
    head, _, rest = text.partition('step "1.1')
    create, found, invoke = text.partition(INVOKE_STEP)
    assert found and rest, "the tutorial's steps are not where this test expects them"
    # The tutorial's files beside the copies, where the script's HERE looks for them.
    shutil.copytree(TUTORIAL.parent, dest, ignore=shutil.ignore_patterns("*.sh"))
    a = dest / "tutorial-create.sh"
    b = dest / "tutorial-invoke.sh"
    a.write_text(create + 'echo "TUTORIAL PASSED"\n')
    b.write_text(head + INVOKE_STEP + invoke)
    return a, b


@pytest.mark.skipif(not TUTORIAL.exists(), reason="../shared/tutorial is not beside the checkout")
def test_tutorial_invokes_and_cleans_up_after_kill_9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cloudlets: Any
) -> None:
    import acceptance.tutorial_runner as runner

    create, invoke = _split_tutorial(tmp_path / "tutorial")
    server = cloudlets(tmp_path / "data")
    try:
        monkeypatch.setattr(runner, "TUTORIAL", create)
        first = run_tutorial(server.env, tmp_path / "work")
        assert first.passed, first.output[-3000:]
        os.kill(server.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        server.stop()
        server = cloudlets(server.data_dir)
        # Steps 3-4 run against what the restarted cloudlet restored.
        monkeypatch.setattr(runner, "TUTORIAL", invoke)
        second = run_tutorial(server.env, tmp_path / "work")
        assert second.passed, second.output[-3000:] + "\n--- cloudlet log ---\n" + server.log_tail(60)
        server.stop()
        server = cloudlets(server.data_dir)
        monkeypatch.setattr(runner, "TUTORIAL", TUTORIAL)
        third = run_tutorial(server.env, tmp_path / "work2")
        assert third.passed, third.output[-3000:] + "\n--- cloudlet log ---\n" + server.log_tail(60)
    finally:
        server.stop()
