"""Runs ../shared/tutorial/run-tutorial.sh against a cloudlet and times each step.

A step starts at each "== TITLE" line the script prints; `make demo` times the
same steps in the shell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO.parent / "shared" / "tutorial" / "run-tutorial.sh"


@dataclass
class TutorialRun:
    returncode: int
    output: str
    steps: list[tuple[str, float]] = field(default_factory=list)  # (step title, seconds)
    total_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and "TUTORIAL PASSED" in self.output


def run_tutorial(aws_env: dict[str, str], workdir: Path, timeout: float = 900) -> TutorialRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(aws_env)
    env["AWS_PAGER"] = ""
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    # The stock CLI and pip of the interpreter running the tests come first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if shutil.which("aws", path=env["PATH"]) is None:
        raise RuntimeError("the aws CLI is not installed (pip install awscli)")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(TUTORIAL), str(workdir)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    steps: list[tuple[str, float]] = []
    current: tuple[str, float] | None = None
    assert proc.stdout is not None
    deadline = t0 + timeout
    for line in proc.stdout:
        lines.append(line)
        now = time.monotonic()
        if line.startswith("== "):
            if current:
                steps.append((current[0], now - current[1]))
            current = (line[3:].strip(), now)
        if now > deadline:
            proc.kill()
            lines.append(f"[killed after {timeout} s]\n")
            break
    rc = proc.wait()
    end = time.monotonic()
    if current:
        steps.append((current[0], end - current[1]))
    return TutorialRun(rc, "".join(lines), steps, end - t0)


def format_steps(run: TutorialRun) -> str:
    rows = [f"  {secs:7.2f} s  {title}" for title, secs in run.steps]
    rows.append(f"  {run.total_s:7.2f} s  whole tutorial")
    return "\n".join(rows)
