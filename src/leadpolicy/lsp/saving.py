"""Saved checks, coalesced: per policy at most one runs and one waits. A save while a check runs marks the next
one pending; more saves meanwhile change nothing, since the pending check reads the text as it is when it
starts (the latest). Ten saves in a burst run two checks, not ten one after the other (each of them up to the
solver's time-outs), so the last text's check is never late behind stale ones. The running check is not
cancelled: the worker process would have to be started again, which takes longer than most checks; its
result is dropped when the policy was edited since."""

from __future__ import annotations

from typing import Awaitable, Callable


class Coalesced:
    """Runs of a job per key: one at a time, and one more when asked again while it runs."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.pending: set[str] = set()

    async def run(self, key: str, once: Callable[[], Awaitable[None]]) -> None:
        """Run `once` now, or, when a run for `key` is under way, once more after it (however often asked)."""
        if key in self.running:
            self.pending.add(key)
            return
        self.running.add(key)
        try:
            again = True
            while again:
                self.pending.discard(key)
                await once()
                again = key in self.pending
        finally:
            self.running.discard(key)
