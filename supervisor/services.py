"""Building the long-lived services from Settings. Shared by the CLI commands and the app's lifespan."""

from __future__ import annotations

from .models.bank import load_bank
from .models.embedder import CachedEmbedder, build_embedder
from .models.judge import Judge
from .rules.rulebook import Rulebook, compile_rulebook
from .settings import Settings
from .signing import Signer, load_or_create_signer
from .store import open_store
from .supervision import Supervisor


def make_embedder(settings: Settings) -> CachedEmbedder:
    embedder = build_embedder(settings.embedder_backend, settings.embedder_model, settings.embedder_threads,
                              settings.cache_dir)
    embedder.load(settings.cache_dir)
    if settings.shipped_vectors:
        embedder.use_shipped()  # the shipped curricula's sentences, embedded offline: a first start in seconds
    return embedder


def make_rulebook(settings: Settings, embedder: CachedEmbedder, countries=None,
                  options: dict | None = None, preloaded=None) -> Rulebook:
    """Compile the curricula; `options` from `rulebook_options` when the caller keeps them for hot reload,
    `preloaded` (fingerprint, curricula) when it has read them already."""
    options = options if options is not None else rulebook_options(settings, embedder)
    rulebook = compile_rulebook(settings.curricula_dir, embedder.embed, countries, preloaded=preloaded, **options)
    save_cache(settings, embedder)
    return rulebook


def rulebook_options(settings: Settings, embedder: CachedEmbedder) -> dict:
    """How curricula are compiled: thresholds, and the learned heads with this embedder's public-data bank."""
    return {"threshold": settings.semantic_threshold, "margin": settings.semantic_margin,
            "learn": settings.learned_heads, "bank": load_bank(embedder.space) if settings.learned_heads else None,
            "cache_dir": settings.cache_dir}


def save_cache(settings: Settings, embedder: CachedEmbedder) -> None:
    try:
        embedder.save(settings.cache_dir)
    except OSError:
        pass  # a read-only cache folder only costs start-up time


def make_supervisor(settings: Settings, embedder: CachedEmbedder) -> Supervisor:
    judge = None
    if settings.judge_model:
        judge = Judge(settings.judge_model, settings.judge_api_base, settings.judge_api_key,
                      format=settings.judge_format)
    return Supervisor(embedder, judge)


def open_signed_store(settings: Settings):
    """The store with the deployment's signing key attached: checkpoints get signed, the key is published."""
    signer: Signer = load_or_create_signer(settings.signing_key_path())
    store = open_store(settings.database_url)
    store.attach_signer(signer, settings.audit_checkpoint_every, settings.audit_checkpoint_interval,
                        witness=settings.audit_witness_path())
    return store, signer
