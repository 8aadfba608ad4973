"""Compiled curricula, one per country, swapped atomically when the files change.

A `Rulebook` is an immutable snapshot: every country's Curriculum, its semantic index and its check table.
`RulebookHolder` owns the current snapshot and reloads it when a file under the curricula folder changes;
an invalid change is logged with every file:line problem and the previous snapshot keeps serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from ..checks.learned import Learned, build_learned
from ..checks.lexical import check_fuzzy, check_phrase
from ..checks.semantic import DEFAULT_MARGIN, DEFAULT_THRESHOLD, SemanticIndex, make_check
from ..errors import ConfigError
from ..models.bank import Bank
from ..verdict import Check
from .loader import load_curricula
from .model import Curriculum

log = structlog.get_logger("supervisor.rulebook")


@dataclass(frozen=True)
class Compiled:
    curriculum: Curriculum
    index: SemanticIndex
    checks: Mapping[str, Check]
    learned: Learned | None = None   # the heads every country shares (fitted on all compiled curricula)


@dataclass(frozen=True)
class Rulebook:
    compiled: Mapping[str, Compiled]
    fingerprint: tuple

    def for_country(self, country: str) -> Compiled:
        """The country's curriculum, or the universal baseline for a country we ship none for."""
        return self.compiled.get(country) or self.compiled["baseline"]

    @property
    def versions(self) -> dict[str, str]:
        return {c: comp.curriculum.version for c, comp in self.compiled.items()}


def fingerprint(root: Path) -> tuple:
    """Cheap change detector: every YAML file's path, size and modification time."""
    out = []
    for path in sorted(Path(root).rglob("*.yaml")):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(out)


def compile_rulebook(root: Path, embed: Callable, countries=None, threshold: float = DEFAULT_THRESHOLD,
                     margin: float = DEFAULT_MARGIN, learn: bool = True, bank: Bank | None = None,
                     cache_dir: Path | None = None, preloaded: tuple[tuple, Mapping] | None = None) -> Rulebook:
    """Load and compile the curricula. With `learn`, fit the learned heads on every loaded curriculum's
    examples plus `bank` (the shipped public data for this embedder) and use them in the semantic check.
    `preloaded`: (fingerprint, curricula) a caller already read and validated (the server's start-up)."""
    if preloaded is not None:
        stamp, curricula = preloaded
    else:
        stamp = fingerprint(root)
        curricula = load_curricula(Path(root), countries)
    learned = build_learned(curricula.values(), embed, bank, cache_dir) if learn else None
    compiled = {}
    for country, curriculum in curricula.items():
        index = SemanticIndex(curriculum, embed, threshold, margin)
        checks = {"phrase": check_phrase, "fuzzy": check_fuzzy, "semantic": make_check(index, learned)}
        compiled[country] = Compiled(curriculum, index, checks, learned)
    return Rulebook(compiled, stamp)


class RulebookHolder:
    def __init__(self, root: Path, embed: Callable, rulebook: Rulebook | None = None, **options):
        self.root = Path(root)
        self.embed = embed
        self.options = options
        self.current = rulebook or compile_rulebook(self.root, embed, **options)
        self.last_error: str | None = None

    async def reload_if_changed(self) -> bool:
        stamp = await asyncio.to_thread(fingerprint, self.root)
        if stamp == self.current.fingerprint:
            return False
        try:
            fresh = await asyncio.to_thread(compile_rulebook, self.root, self.embed, **self.options)
        except ConfigError as exc:
            # keep serving the previous version; remember the stamp so we do not retry until the next edit
            self.current = Rulebook(self.current.compiled, stamp)
            self.last_error = str(exc)
            log.error("curriculum_reload_rejected", problems=[str(p) for p in exc.problems],
                      serving=self.current.versions)
            return False
        old = self.current.versions
        self.current = fresh
        self.last_error = None
        log.info("curriculum_reloaded", old=old, new=fresh.versions)
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload_if_changed()
            except Exception:  # a watcher must never die; the next tick tries again
                log.exception("curriculum_watch_failed")
