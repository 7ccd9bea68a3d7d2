"""The floor under `desktop-chat ask`'s first byte, for bench_cli.py: its libraries alone.

The openai SDK streams the question (as `llm` and desktop-chat both do) after aiohttp is
imported (desktop-chat's replies arrive over it, which keeps a streamed token's CPU near
the stdlib floor's); the tokens are printed as they come and both messages stored in
SQLite. None of desktop-chat's code runs: no store, engine or settings.

    python bench/_sdk_floor_client.py BASE_URL MODEL DATABASE "question"
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp  # noqa: F401  (imported as desktop-chat's transport imports it)
import httpx2
import openai
from _floor_client import store


async def ask(base_url: str, model: str, question: str) -> str:
    # No certificates loaded for the plain-HTTP server: aiohttp's import has loaded its
    # own, as in desktop-chat, which loads no others.
    http = httpx2.AsyncClient(verify=False)
    client = openai.AsyncOpenAI(base_url=base_url, api_key="floor", http_client=http)
    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], stream=True
    )
    parts: list[str] = []
    async for chunk in stream:
        text = chunk.choices[0].delta.content if chunk.choices else None
        if text:
            parts.append(text)
            sys.stdout.write(text)
            sys.stdout.flush()
    sys.stdout.write("\n")
    await client.close()
    return "".join(parts)


def main() -> int:
    base_url, model, database, question = sys.argv[1:5]
    store(database, question, asyncio.run(ask(base_url, model, question)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
