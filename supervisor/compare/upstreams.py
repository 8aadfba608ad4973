"""The upstreams a compare run asks, resolved and checked before anything runs.

A name is `demo` (the built-in demo upstream), a name under `upstreams:` in the config file (with its own
api_base and key), the configured default upstream's model (with its api_base and key from the settings), or
any litellm model string. A model string litellm cannot route is refused here, with what to write instead;
a model that is routable but unreachable or refuses the key is found out per probe, and the run goes on.
"""

from __future__ import annotations

from ..errors import BadRequest
from ..settings import DEMO_MODEL, Settings, UpstreamConfig


def _routable(model: str) -> str | None:
    """Why litellm cannot route `model`, or None when it can."""
    from ..upstream import load_litellm

    litellm = load_litellm()
    try:
        _, provider, _, _ = litellm.get_llm_provider(model)
    except Exception:  # noqa: BLE001 - litellm raises its own BadRequestError for an unknown provider
        return "litellm does not know its provider"
    if "/" in model and not model.split("/", 1)[1].strip():
        return f"no model name after {provider}/"
    return None


def resolve(names: list[str], settings: Settings) -> dict[str, UpstreamConfig]:
    """{name as given: its upstream}, in the order given."""
    if not names:
        raise BadRequest("name at least one upstream with --upstream (e.g. --upstream demo)")
    out: dict[str, UpstreamConfig] = {}
    for name in names:
        if name in out:
            raise BadRequest(f"--upstream {name!r} is named twice")
        if name == DEMO_MODEL:
            config = UpstreamConfig(model=DEMO_MODEL)
        elif name in settings.upstreams:
            config = settings.upstreams[name]
        elif name == settings.upstream.model:
            config = settings.upstream
        else:
            config = UpstreamConfig(model=name)
        if not config.is_demo and (why := _routable(config.model)):
            configured = ", ".join(sorted(settings.upstreams)) or "none"
            raise BadRequest(f"--upstream {name!r}: not a model litellm can call ({why}); write "
                             f"provider/model (e.g. openai/gpt-4o-mini, ollama/qwen2.5:3b), `demo`, or a name "
                             f"under `upstreams:` in the config file (configured: {configured})")
        out[name] = config
    return out
