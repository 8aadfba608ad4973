"""The upstream model, always through `litellm.acompletion`. Hand-written provider code is never used.

The school's key never travels upstream (litellm gets only the configured upstream key), and upstream
failures become UpstreamError/UpstreamTimeout, never an assistant message.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .errors import UpstreamError, UpstreamTimeout
from .settings import UpstreamConfig

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# Sampling parameters a client may set that are passed on unchanged.
PASSTHROUGH = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "presence_penalty",
               "frequency_penalty", "seed", "response_format", "logit_bias")


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    finish_reason: str | None
    usage: dict | None


def load_litellm():
    """litellm, imported and configured (quiet, no telemetry). Its import takes seconds: the app loads it while it
    starts (app.build_services), not at the first upstream call."""
    import litellm

    from .logs import adopt_library_loggers

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    adopt_library_loggers()  # its import attached a plain-text handler: our JSON lines only
    return litellm


async def stop_litellm_background() -> None:
    """Stop litellm's logging worker when it runs on this event loop. litellm starts one background task per
    process on the first loop that calls it; a loop that closes with it still pending prints "Task was destroyed
    but it is pending!" (and the next loop's start "cannot reuse already awaited coroutine"), so a proxy or a
    red-team run stops it before its loop ends."""
    if "litellm" not in sys.modules:
        return
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER as worker
    except ImportError:  # another litellm layout: nothing of ours to stop
        return
    task = getattr(worker, "_worker_task", None)
    if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
        await worker.stop(timeout=2)


def _translate(exc: Exception) -> UpstreamError:
    litellm = load_litellm()
    name = type(exc).__name__
    if isinstance(exc, litellm.exceptions.Timeout) or "Timeout" in name:
        return UpstreamTimeout(f"the upstream model did not answer in time ({name})")
    status = getattr(exc, "status_code", None)
    detail = str(exc).splitlines()[0][:300] if str(exc) else name
    return UpstreamError(f"the upstream model failed ({name}{f', HTTP {status}' if status else ''}): {detail}")


def _refuse_non_sse(response) -> None:
    """An upstream asked to stream must answer with server-sent events. One that answers HTTP 200 with JSON
    (an error, or a whole completion), HTML or plain text would otherwise read as an empty stream. The HTTP
    response is reached through litellm's OpenAI-style stream when it has one; other providers are judged by
    the text they yield (see `stream`)."""
    http = getattr(getattr(response, "completion_stream", None), "response", None)
    content_type = getattr(http, "headers", {}).get("content-type", "") if http is not None else ""
    if content_type and not content_type.lower().startswith("text/event-stream"):
        raise UpstreamError(f"the upstream model was asked to stream but answered with {content_type.split(';')[0]}"
                            ", not server-sent events; nothing of it was delivered")


class Upstream:
    def __init__(self, config: UpstreamConfig, api_base: str | None = None):
        self.config = config
        self.api_base = api_base or config.api_base

    @property
    def litellm_model(self) -> str:
        # The demo upstream speaks the OpenAI protocol on a local route.
        return "openai/demo" if self.config.is_demo else self.config.model

    def _kwargs(self, body: dict, messages: list[dict], user: str | None) -> dict:
        kwargs = {k: body[k] for k in PASSTHROUGH if body.get(k) is not None}
        kwargs.update(model=self.litellm_model, messages=messages, timeout=self.config.timeout,
                      num_retries=self.config.retries)
        if self.api_base:
            kwargs["api_base"] = self.api_base
        # An explicit key is always passed: otherwise litellm would fall back to OPENAI_API_KEY and friends.
        kwargs["api_key"] = self.config.api_key or ("demo" if self.config.is_demo else None)
        if kwargs["api_key"] is None:
            del kwargs["api_key"]
        if user:
            # litellm drops `user` for providers it does not map it for; extra_body always carries it.
            kwargs["user"] = user
            kwargs["extra_body"] = {"user": user}
        return kwargs

    async def complete(self, body: dict, messages: list[dict], user: str | None = None) -> Completion:
        litellm = load_litellm()
        try:
            reply = await litellm.acompletion(**self._kwargs(body, messages, user))
        except Exception as exc:  # litellm raises many provider-specific types
            raise _translate(exc) from exc
        choice = reply.choices[0]
        text = choice.message.content
        if text is None:
            raise UpstreamError("the upstream model returned no text content (tool calls are not supported)")
        usage = reply.usage.model_dump() if getattr(reply, "usage", None) else None
        return Completion(text, reply.model or self.config.model, choice.finish_reason, usage)

    async def stream(self, body: dict, messages: list[dict], user: str | None = None) -> AsyncIterator[str]:
        """Yield text deltas as the upstream produces them. Closing the generator early closes the upstream
        HTTP stream, so the model stops generating (a client that went away, a blocked answer)."""
        litellm = load_litellm()
        try:
            response = await litellm.acompletion(stream=True, **self._kwargs(body, messages, user))
        except Exception as exc:
            raise _translate(exc) from exc
        try:
            _refuse_non_sse(response)
            said = False
            async for chunk in response:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta is not None and delta.content:
                    said = True
                    yield delta.content
            if not said:
                # litellm ends even an unreadable body with a made-up finish_reason "stop": an answer with no
                # text at all is the only sign left, and it must not become an empty answer that "passed"
                raise UpstreamError("the upstream model's stream carried no text (it may have answered with an "
                                    "error or a body that is not server-sent events)")
        except (UpstreamError, GeneratorExit):
            raise
        except Exception as exc:
            raise _translate(exc) from exc
        finally:
            await response.aclose()
