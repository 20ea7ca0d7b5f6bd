"""The Quickstart main job: `ordersync demo` mirrors, follows changes, and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_command_exits_zero_and_shows_every_change_arriving() -> None:
    """Run the real console command in a fresh process, as a user would."""
    done = subprocess.run([sys.executable, "-c", "from workers.cli import main; main()", "demo"],
                          cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Every change arrived on BigCommerce exactly once." in out
    assert "AWB-DEMO-0001" in out
    assert out.count("│ yes") >= 4
    assert "Traceback" not in done.stderr
