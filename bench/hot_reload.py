"""How long a curriculum edit takes to go live under a running proxy, on the shipped curricula. Prints seconds.

    .venv/bin/python bench/hot_reload.py [--country jp]

Measured on a scratch copy of curricula/ with the deployment's embedding cache (as a running proxy has it):
- start: compiling every curriculum, as the first request waits for (heads from the cache or the package);
- reload, before: what a reload did until now: everything compiled again and the heads refitted on the new
  examples before the edit went live (compile_rulebook with nothing reused);
- reload, now: RulebookHolder.reload_if_changed: unchanged countries and the serving heads reused, only the
  edited country indexed again and only its new sentences embedded; the edit is live when this returns;
- heads refit, background: the refit that then runs off the request path, until its heads are swapped in.
One new rule file with ten examples is added to --country; a baseline edit is timed too (every country
extends the baseline, so every country is indexed again, still without waiting for the heads).

Measured 7 December 2026 on the shared two-core machine under a load average of 18-24 (so slow in absolute
terms; compare the rows), shipped curricula (9 curricula), warm embedding cache:
                                          before this change   now
  start (compile every curriculum)             222.7 s          33.3 s   (principal directions by eigh, not SVD)
  a new rule in jp live after                  495.6 s           3.7 s   (before: everything again, heads refit)
  a baseline edit live after                      -             42.7 s   (every country indexed again)
  heads refit, in the background                  -            230.8 s   (off the request path; then swapped in)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor.rules.rulebook import RulebookHolder, compile_rulebook  # noqa: E402
from supervisor.services import make_embedder, rulebook_options  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402

NEW_RULE = """schema_version: 1
rules:
  - id: {country}.bench-hot-reload
    category: dangerous_activity
    severity: medium
    description: A rule added while the proxy runs (benchmark).
    kind: [semantic]
    examples:
      match:
        en:
{matches}
      no_match:
        en:
          - Always ask an adult before you climb onto the school roof for a lost ball.
    source: {{document: {document}, clause: bench}}
"""
MATCHES = [f"          - Climb onto the school roof at night number {i} and jump between the buildings for fun."
           for i in range(10)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--country", default="jp", help="the country folder the new rule goes into")
    args = parser.parse_args()
    settings = load_settings(None)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "curricula"
        shutil.copytree(settings.curricula_dir, root)
        embedder = make_embedder(settings)
        options = rulebook_options(settings, embedder)
        began = time.perf_counter()
        holder = RulebookHolder(root, embedder.embed, **options)
        print(f"start (compile every curriculum)           {time.perf_counter() - began:7.1f} s")
        document = holder.current.compiled[args.country].curriculum.documents
        (root / args.country / "bench_new_rule.yaml").write_text(NEW_RULE.format(
            country=args.country, matches="\n".join(MATCHES), document=next(iter(document))), encoding="utf-8")
        began = time.perf_counter()
        compile_rulebook(root, embedder.embed, **options)
        print(f"reload, before (everything, heads refitted) {time.perf_counter() - began:7.1f} s")
        (root / args.country / "bench_new_rule.yaml").write_text(NEW_RULE.format(
            country=args.country, matches="\n".join(m.replace("number", "no.") for m in MATCHES),
            document=next(iter(document))), encoding="utf-8")
        began = time.perf_counter()
        assert await holder.reload_if_changed()
        print(f"reload, now: new rule in {args.country} live after       {time.perf_counter() - began:7.1f} s")
        began = time.perf_counter()
        while holder.heads_refitted < 1:
            await asyncio.sleep(0.5)
        print(f"heads refit, background                     {time.perf_counter() - began:7.1f} s")
        lessons = root / "_baseline" / "lessons.yaml"
        lessons.write_text(lessons.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        began = time.perf_counter()
        assert await holder.reload_if_changed()
        print(f"reload, now: baseline edit live after       {time.perf_counter() - began:7.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
