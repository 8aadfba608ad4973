"""Compiled curricula, one per country, swapped atomically when the files change.

A `Rulebook` is an immutable snapshot: every country's Curriculum, its semantic index and its check table.
`RulebookHolder` owns the current snapshot and reloads it when a file under the curricula folder changes;
an invalid change is logged with every file:line problem and the previous snapshot keeps serving.
"""

from __future__ import annotations

import asyncio
import time
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
                     cache_dir: Path | None = None, preloaded: tuple[tuple, Mapping] | None = None, *,
                     previous: Rulebook | None = None, heads: Learned | None = None,
                     fit: Mapping | None = None) -> Rulebook:
    """Load and compile the curricula. With `learn`, fit the learned heads on every loaded curriculum's
    examples plus `bank` (the shipped public data for this embedder) and use them in the semantic check.
    `preloaded`: (fingerprint, curricula) a caller already read and validated (the server's start-up).

    A hot reload passes what is serving: `previous` (compiled with the same embedder and options), whose
    countries are reused where their content, hence their version, is unchanged, so only edited countries are
    indexed again and only their new sentences embedded; and `heads`, used instead of fitting (refitting takes
    minutes over every curriculum and the public-data bank; `RulebookHolder` refits in the background).
    `fit`: the heads' network settings when not the shipped ones (checks/learned.FIT), for benchmarks."""
    if preloaded is not None:
        stamp, curricula = preloaded
    else:
        stamp = fingerprint(root)
        curricula = load_curricula(Path(root), countries)
    learned = heads if heads is not None else build_learned(curricula.values(), embed, bank, cache_dir, fit) \
        if learn else None
    compiled = {}
    for country, curriculum in curricula.items():
        old = previous.compiled.get(country) if previous is not None else None
        reuse = old is not None and old.curriculum.version == curriculum.version
        index = old.index if reuse else SemanticIndex(curriculum, embed, threshold, margin)
        compiled[country] = _compiled(curriculum, index, learned)
    return Rulebook(compiled, stamp)


def _compiled(curriculum: Curriculum, index: SemanticIndex, learned: Learned | None) -> Compiled:
    checks = {"phrase": check_phrase, "fuzzy": check_fuzzy, "semantic": make_check(index, learned)}
    return Compiled(curriculum, index, checks, learned)


def with_heads(rulebook: Rulebook, learned: Learned) -> Rulebook:
    """The same rulebook judged with other heads (refitted after a reload)."""
    return Rulebook({c: _compiled(comp.curriculum, comp.index, learned) for c, comp in rulebook.compiled.items()},
                    rulebook.fingerprint)


class RulebookHolder:
    """The serving rulebook, reloaded when a file under `root` changes.

    A valid edit goes live within seconds: the new rulebook reuses the unchanged countries and the serving
    heads, so a new rule fires at once on its own examples (nearest-example evidence, confirmed by the heads of
    its category as they stand). The heads are then refitted on the new examples in the background and swapped
    in when done, unless another edit came first (`heads_refitted` counts the swaps)."""

    def __init__(self, root: Path, embed: Callable, rulebook: Rulebook | None = None, **options):
        self.root = Path(root)
        self.embed = embed
        self.options = options
        self.current = rulebook or compile_rulebook(self.root, embed, **options)
        self.last_error: str | None = None
        # called (in a thread) with each rulebook put in force after a reload, e.g. to keep its rules' texts
        self.on_reload: list[Callable[[Rulebook], None]] = []
        self.heads_refitted = 0
        self._refit: asyncio.Task | None = None

    @property
    def heads(self) -> Learned | None:
        return next((c.learned for c in self.current.compiled.values()), None)

    async def reload_if_changed(self) -> bool:
        stamp = await asyncio.to_thread(fingerprint, self.root)
        if stamp == self.current.fingerprint:
            return False
        started = time.perf_counter()
        try:
            fresh = await asyncio.to_thread(compile_rulebook, self.root, self.embed, **self.options,
                                            previous=self.current, heads=self.heads)
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
        log.info("curriculum_reloaded", old=old, new=fresh.versions,
                 seconds=round(time.perf_counter() - started, 2))
        if self.options.get("learn", True) and fresh.compiled:
            if self._refit is not None:
                self._refit.cancel()  # an older edit's refit: its heads would be stale when they arrive
            self._refit = asyncio.create_task(self._refit_heads(fresh))
        for listener in self.on_reload:
            try:
                await asyncio.to_thread(listener, fresh)
            except Exception:  # the new rules already serve; a listener's failure is logged, never fatal
                log.exception("curriculum_reload_listener_failed")
        return True

    async def _refit_heads(self, rulebook: Rulebook) -> None:
        started = time.perf_counter()
        curricula = [c.curriculum for c in rulebook.compiled.values()]
        learned = await asyncio.to_thread(build_learned, curricula, self.embed, self.options.get("bank"),
                                          self.options.get("cache_dir"))
        if self.current.compiled is rulebook.compiled:  # no newer edit went live meanwhile
            self.current = with_heads(self.current, learned)
            self.heads_refitted += 1
            log.info("curriculum_heads_refitted", versions=self.current.versions,
                     seconds=round(time.perf_counter() - started, 2))

    async def watch(self, interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.reload_if_changed()
                except Exception:  # a watcher must never die; the next tick tries again
                    log.exception("curriculum_watch_failed")
        finally:
            if self._refit is not None:
                self._refit.cancel()
