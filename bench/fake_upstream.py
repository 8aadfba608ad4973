"""A fake OpenAI-compatible upstream that answers every request with the same text, as its own process.

    python bench/fake_upstream.py --port 9100 --answer-file answer.txt [--vary] [--chunk-chars 4] [--chunk-delay 0]

The answer file holds one sentence per line. With --vary every answer is new text (each sentence gets a tag
unique to the request), as real answers are: otherwise the supervisor's embedding cache would make every
check after the first nearly free. With --chunk-delay the stream is paced like a model generating tokens;
0 measures the proxy alone.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor.demo.fake_openai import create_fake_openai  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer-file", required=True)
    parser.add_argument("--vary", action="store_true", help="make every answer new text")
    parser.add_argument("--chunk-chars", type=int, default=4)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args()
    sentences = [line for line in Path(args.answer_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    counter = itertools.count()

    def answer(messages: list[dict]) -> str:
        if not args.vary:
            return " ".join(sentences)
        n = next(counter)
        return " ".join(f"({n}-{i}) {s}" for i, s in enumerate(sentences))

    app = create_fake_openai(answer, model="fake-model", chunk_chars=args.chunk_chars,
                             chunk_delay=args.chunk_delay)
    # Keep idle connections longer than the client's pool does (httpx forgets them after 5 s; hosted APIs and
    # nginx keep them 60 s and more). At uvicorn's default 5 s both sides expire together, and a request sent on
    # a connection the server is closing that instant fails as "Connection error": an artefact of this fake,
    # seen as 2 errors in 256 streams at 32 clients, not something a real upstream does.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                timeout_keep_alive=75)


if __name__ == "__main__":
    main()
