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


def test_demo_console_stays_open_with_its_address_and_password() -> None:
    """`demo --console` prints the console's address and password; logging in shows the demo's route."""
    import re
    import signal

    import httpx

    process = subprocess.Popen([sys.executable, "-c", "from workers.cli import main; main()", "demo", "--console"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        found = None
        for line in process.stdout:
            found = re.search(r"Console: (http://127\.0\.0\.1:\d+)/\s+password: (\S+)", line)
            if found:
                break
        assert found, "the demo printed no console address"
        # keep reading what the demo prints: a full pipe would block it (and its exit on SIGINT)
        import threading

        threading.Thread(target=process.stdout.read, daemon=True).start()
        base, password = found.groups()
        with httpx.Client(base_url=base, timeout=10, follow_redirects=True) as browser:
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', browser.get("/login").text)
            assert token
            page = browser.post("/login", data={"csrf": token.group(1), "password": password})
            assert page.status_code == 200
            assert "ro-to-us" in page.text
            assert "linked" in page.text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
