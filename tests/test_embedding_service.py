"""The embedding service (models/embedder.EnginePool) schedules sentences from every caller onto the engines:
interactive sentences go before bulk ones, concurrent callers' sentences share batches, each caller gets its own
rows in order, and an engine's failure reaches its callers without stopping the service.

Plumbing only, so the engine is the hashing embedder behind a gate that holds the first batch: what the workers
take next is then decided while the test watches, not by timing."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from supervisor.models.embedder import EnginePool, HashingEmbedder


class GatedEngine:
    """Records each batch it is given; the first waits until the test opens the gate."""

    def __init__(self):
        self.hashing = HashingEmbedder(dim=16)
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.started = threading.Event()

    def query(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.started.set()
        self.gate.wait(10)
        if any(t.startswith("boom") for t in texts):
            raise RuntimeError("engine failed")
        return self.hashing.embed(texts)

    def token_count(self, text: str) -> int:
        return len(text.split())


def in_thread(fn, *args) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run():
        try:
            out["rows"] = fn(*args)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def wait_queued(pool: EnginePool, interactive: int) -> None:
    deadline = time.monotonic() + 10
    while len(pool._interactive) < interactive and time.monotonic() < deadline:
        time.sleep(0.005)


@pytest.fixture
def single():
    engine = GatedEngine()
    return engine, EnginePool([engine], 16, "gated")


def test_interactive_sentences_go_before_a_waiting_bulk_job(single):
    engine, pool = single
    bulk = [f"curriculum example {i}" for i in range(3 * EnginePool.BULK_SLICE)]
    bulk_thread, bulk_out = in_thread(pool.embed_bulk, bulk)
    assert engine.started.wait(10)  # the first bulk slice is running, the rest waits
    asked = ["Is this sentence safe?", "And this one?"]
    ask_thread, ask_out = in_thread(pool.embed, asked)
    wait_queued(pool, 2)
    engine.gate.set()
    for thread in (bulk_thread, ask_thread):
        thread.join(10)
    assert [len(b) for b in engine.batches] == [EnginePool.BULK_SLICE, 2, EnginePool.BULK_SLICE,
                                                EnginePool.BULK_SLICE]
    assert sorted(engine.batches[1]) == sorted(asked)
    assert np.array_equal(ask_out["rows"], engine.hashing.embed(asked))
    assert np.array_equal(bulk_out["rows"], engine.hashing.embed(bulk))


def test_sentences_of_concurrent_callers_share_a_batch_and_each_gets_its_own_rows(single):
    engine, pool = single
    first_thread, _ = in_thread(pool.embed, ["the first caller's sentence"])
    assert engine.started.wait(10)
    streams = [[f"stream {n} says something of its own"] for n in range(5)]
    waiting = [in_thread(pool.embed, texts) for texts in streams]
    wait_queued(pool, 5)
    engine.gate.set()
    for thread, _ in waiting:
        thread.join(10)
    first_thread.join(10)
    assert len(engine.batches) == 2 and sorted(engine.batches[1]) == sorted(t[0] for t in streams)
    for texts, (_, out) in zip(streams, waiting, strict=True):
        assert np.array_equal(out["rows"], engine.hashing.embed(texts))


def test_a_long_request_is_shared_out_among_idle_engines():
    engines = [GatedEngine(), GatedEngine()]
    for engine in engines:
        engine.gate.set()
    pool = EnginePool(engines, 16, "two")
    texts = [f"sentence {i} of a long answer" for i in range(2 * EnginePool.SPLIT_MIN)]
    rows = pool.embed(texts)
    assert np.array_equal(rows, engines[0].hashing.embed(texts))
    assert sum(len(b) for e in engines for b in e.batches) == len(texts)
    assert max(len(b) for e in engines for b in e.batches) < len(texts)  # not all on one engine


def test_an_engine_failure_reaches_its_caller_and_the_service_goes_on(single):
    engine, pool = single
    engine.gate.set()
    with pytest.raises(RuntimeError, match="engine failed"):
        pool.embed(["boom: this sentence breaks the engine"])
    assert np.array_equal(pool.embed(["a sentence after it"]), engine.hashing.embed(["a sentence after it"]))
    assert pool.embed([]).shape == (0, 16)
