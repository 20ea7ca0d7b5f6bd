"""Rate-limit waits on ``ordersync sync``'s progress bar: a run at the real quota waits, and says so.

:func:`show_waits` makes every connector of the process wait for its request budget as long as the
quota needs (:func:`connectors.ratelimit.patient`) and shows each wait as a line of the progress
display, ``waiting 12 s for bigcommerce dst's request budget``, until the next wait replaces it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import Progress, TaskID

from connectors.ratelimit import patient

__all__ = ["WaitDisplay", "show_waits"]


class WaitDisplay:
    """One progress line for budget waits; called from any connector thread."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self.waits = 0
        self.seconds = 0.0
        self._until = 0.0

    def __call__(self, platform: str, store: str, seconds: float) -> None:
        """Show a wait of ``seconds`` for ``store``'s budget (the total waited is kept for the summary)."""
        with self._lock:
            self.waits += 1
            now = time.monotonic()
            self.seconds += max(0.0, now + seconds - max(self._until, now))  # overlapping waits count once
            self._until = max(self._until, now + seconds)
            text = (f"[yellow]waiting {seconds:.0f} s for {platform} {store}'s request budget"
                    if seconds >= 1 else f"[yellow]pacing requests to {platform} {store}'s quota")
            text += f" ({self.seconds:.0f} s waited in all)"
            if self._task is None:
                self._task = self._progress.add_task(text, total=None)
            else:
                self._progress.update(self._task, description=text)


@contextmanager
def show_waits(progress: Progress) -> Iterator[WaitDisplay]:
    """Within the block, requests wait for their budget instead of failing, and waits show on ``progress``."""
    display = WaitDisplay(progress)
    with patient(on_wait=display):
        yield display
