"""Worker threads that cannot hold up a shutdown.

Checks (embedding, sentence by sentence), store writes and other blocking work run off the event loop through
`asyncio.to_thread`, i.e. in the loop's default executor. The standard ThreadPoolExecutor is joined without a
limit twice at exit (by `asyncio.run` and by an interpreter exit hook), so one long check kept a stopping server
alive for minutes after SIGTERM. `DaemonThreadPool` is the serving loop's default executor instead: its threads
are daemons, and `shutdown()` waits for them only up to `join_timeout`; what is still running then is abandoned
with the process (the exchange it belonged to has already been recorded as interrupted, see proxy.py).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor


class DaemonThreadPool(ThreadPoolExecutor):
    """A ThreadPoolExecutor only by type (asyncio accepts nothing else as a default executor): `submit` and
    `shutdown` are its own, so none of the stdlib pool's private machinery, or its exit hook, is involved."""

    def __init__(self, max_workers: int | None = None, join_timeout: float = 5.0, name: str = "supervisor-worker"):
        super().__init__(max_workers)
        self._max = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._join_timeout = join_timeout
        self._name = name
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._pool: list[threading.Thread] = []
        self._pool_lock = threading.Lock()
        self._closed = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._pool_lock:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._work.put((future, fn, args, kwargs))
            if not self._idle.acquire(blocking=False) and len(self._pool) < self._max:
                thread = threading.Thread(target=self._run, name=f"{self._name}-{len(self._pool)}", daemon=True)
                self._pool.append(thread)
                thread.start()
        return future

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to whoever awaits the future, as the stdlib pool does
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del item, future, fn, args, kwargs
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._pool_lock:
            self._closed = True
            threads = list(self._pool)
        if cancel_futures:
            while True:
                try:
                    item = self._work.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in threads:
            self._work.put(None)
        if wait:
            deadline = time.monotonic() + self._join_timeout
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
