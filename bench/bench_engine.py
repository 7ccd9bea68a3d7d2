"""The engine without a window: storing a long reply, and the cost of each streamed chunk.

Data: 1,000 conversations / 100,000 messages (bench/dataset.py "cold").

* Store: the transaction that writes a finished 20,000-token reply (about 73,000
  characters of Markdown) with its usage record, `Messages.append`, timed as
  the engine runs it (`await Store.run(...)`, on the store's worker thread) and on its
  own (called directly on this thread).
* Long history: the longest event-loop stall (an asyncio heartbeat of 1 ms sleeps)
  while a message is sent into the 2,000-message conversation of the "large" data set
  and its short reply arrives; no target in the plan, shown against the window's 16 ms.
* Per chunk: the test suite's fake OpenAI server, in its own process, streams the same
  20,000 tokens as fast as it can (one SSE event per token). Once through the raw openai
  SDK over the app's HTTP connections (aiohttp, llm/transport.py), read the way the app's
  client reads it (`AsyncOpenAI.post(..., cast_to=object,
  stream=True)`: the SSE stream as plain JSON, without building a model of each chunk,
  which alone costs about 0.3 ms a chunk), once through the engine
  (`ConversationService.send`, a bus subscriber counting the delta events until "done").
  The engine's overhead per chunk is the difference in this process's CPU time divided
  by the number of chunks (CPU time, because the wall time of both is set by the server
  when it is the slower side); the wall-time difference is shown as well. Runs alternate.

    python bench/bench_engine.py [--writes 15] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from _common import Row, check, finish, median, ms, percentile, start_fake_server, stop_process
from dataset import fresh_home, long_reply_tokens


async def store_writes(home, conversation_id: str, text: str, writes: int):
    from desktop_chat.app import Core
    from desktop_chat.paths import default_paths
    from desktop_chat.schemas import Message, MessageStatus, UsageRecord

    os.environ["DESKTOP_CHAT_HOME"] = str(home)
    core = await Core.open(default_paths())

    def reply() -> tuple[Message, UsageRecord]:
        message = Message(
            role="assistant",
            content=text,
            status=MessageStatus.COMPLETE,
            prompt_tokens=1200,
            completion_tokens=20_000,
            model="fake-model",
            finish_reason="stop",
            ttft_ms=300.0,
            duration_ms=10_000.0,
        )
        usage = UsageRecord(
            conversation_id=conversation_id,
            agent_id=None,
            model="fake-model",
            status=MessageStatus.COMPLETE,
            prompt_tokens=1200,
            completion_tokens=20_000,
        )
        return message, usage

    threaded, direct = [], []
    try:
        for _ in range(writes):
            message, usage = reply()
            started = time.perf_counter()
            await core.store.run(
                lambda r, m=message, u=usage: r.messages.append(conversation_id, m, u)
            )
            threaded.append(ms(time.perf_counter() - started))
            message, usage = reply()

            def timed(r, m=message, u=usage) -> float:
                t0 = time.perf_counter()
                r.messages.append(conversation_id, m, u)
                return ms(time.perf_counter() - t0)

            direct.append(await core.store.run(timed))
    finally:
        await core.aclose()
    return threaded, direct


async def raw_stream(base_url: str) -> tuple[int, float, float]:
    import httpx2
    import openai

    from desktop_chat.llm.transport import AiohttpClient

    client = openai.AsyncOpenAI(
        base_url=base_url,
        api_key="sk-bench",
        max_retries=0,
        http_client=AiohttpClient(None, httpx2.Timeout(60.0)),  # the app's connections
    )
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        stream = await client.post(
            "/chat/completions",
            body={
                "model": "fake-model",
                "messages": [{"role": "user", "content": "Write a long answer"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )
        chunks = 0
        async with stream:
            async for chunk in stream:
                choices = chunk.get("choices")
                if choices and choices[0]["delta"].get("content"):
                    chunks += 1
        return chunks, time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await client.close()


async def engine_stream(core) -> tuple[int, float, float]:
    service = core.service
    conversation = await service.create_conversation()
    deltas = [0]
    done = asyncio.Event()

    from desktop_chat.engine.events import ReplyDelta, ReplyDone

    def listener(event) -> None:
        if isinstance(event, ReplyDelta):
            deltas[0] += 1
        elif isinstance(event, ReplyDone):
            done.set()

    unsubscribe = service.bus.subscribe(listener, conversation.id)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        await service.send(conversation.id, "Write a long answer")
        await done.wait()
        return deltas[0], time.process_time() - cpu, time.perf_counter() - wall
    finally:
        unsubscribe()


async def chunk_runs(home, base_url: str, runs: int):
    from desktop_chat.app import Core
    from desktop_chat.paths import default_paths

    os.environ["DESKTOP_CHAT_HOME"] = str(home)
    core = await Core.open(default_paths())
    core.service.config.auto_title = False
    raw, engine = [], []
    try:
        await raw_stream(base_url)  # warm-up: connections, imports, first-use caches
        await engine_stream(core)
        for _ in range(runs):
            raw.append(await raw_stream(base_url))
            engine.append(await engine_stream(core))
    finally:
        await core.aclose()
    return raw, engine


async def heartbeat(gaps: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        gaps.append(ms(now - last))
        last = now


async def long_sends(home, conversation_id: str, runs: int) -> list[float]:
    """Longest event-loop stall while a message is sent into a 2,000-message conversation."""
    from desktop_chat.app import Core
    from desktop_chat.engine.events import ReplyDone
    from desktop_chat.paths import default_paths

    os.environ["DESKTOP_CHAT_HOME"] = str(home)
    core = await Core.open(default_paths())
    core.service.config.auto_title = False
    service = core.service
    done = asyncio.Event()
    service.bus.subscribe(
        lambda e: done.set() if isinstance(e, ReplyDone) else None, conversation_id
    )
    stalls = []
    try:
        for _ in range(runs + 1):  # the first one warms up the HTTP client
            gaps: list[float] = []
            stop = asyncio.Event()
            beat = asyncio.create_task(heartbeat(gaps, stop))
            await asyncio.sleep(0.05)
            done.clear()
            await service.send(conversation_id, "One more question about the schema.")
            await done.wait()
            stop.set()
            await beat
            stalls.append(max(gaps))
    finally:
        await core.aclose()
    return stalls[1:]


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--long-runs", type=int, default=5)
    args, _ = parser.parse_known_args()
    tokens = long_reply_tokens(20_000)
    text = "".join(tokens)

    data = fresh_home("cold")
    threaded, direct = asyncio.run(
        store_writes(data.home, str(data.meta["newest_id"]), text, args.writes)
    )

    server, base_url = start_fake_server(tokens)
    try:
        chunk_data = fresh_home("cold", base_url=base_url)
        raw, engine = asyncio.run(chunk_runs(chunk_data.home, base_url, args.runs))
    finally:
        stop_process(server)
    server, base_url = start_fake_server(["Sure", ",", " here", " it", " is", "."])
    try:
        long_data = fresh_home("large", base_url=base_url)
        long_stalls = asyncio.run(
            long_sends(long_data.home, str(long_data.meta["long_id"]), args.long_runs)
        )
    finally:
        stop_process(server)
    n_chunks = raw[0][0]
    assert all(r[0] == n_chunks for r in raw + engine), (raw, engine)
    cpu_over = [(e[1] - r[1]) / n_chunks * 1000 for r, e in zip(raw, engine, strict=True)]
    wall_over = [(e[2] - r[2]) / n_chunks * 1000 for r, e in zip(raw, engine, strict=True)]
    raw_cpu = median([r[1] / n_chunks * 1000 for r in raw])
    raw_rate = median([n_chunks / r[2] for r in raw])
    eng_rate = median([n_chunks / e[2] for e in engine])
    print(
        f"  raw SDK: {raw_cpu * 1000:.0f} µs CPU per chunk, {raw_rate:,.0f} chunks/s; "
        f"engine: {eng_rate:,.0f} chunks/s"
    )
    return [
        Row(
            "Engine: store a finished 20,000-token reply (append_message transaction)",
            "≤ 10 ms",
            median(threaded),
            "ms",
            percentile(threaded, 95),
            check(median(threaded), 10),
            len(threaded),
            f"via the store's worker thread; the call alone {median(direct):.1f} ms "
            f"(p95 {percentile(direct, 95):.1f}); database of 100,000 messages",
        ),
        Row(
            "Engine: overhead per streamed chunk, upstream → subscriber (CPU)",
            "≤ 0.2 ms",
            median(cpu_over),
            "ms",
            None,
            check(median(cpu_over), 0.2),
            len(cpu_over),
            f"over the raw SDK's {raw_cpu:.3f} ms per chunk; wall-time difference "
            f"{median(wall_over):.3f} ms per chunk; {n_chunks:,} chunks, fake server "
            f"{raw_rate:,.0f} chunks/s raw, {eng_rate:,.0f} through the engine",
        ),
        Row(
            "Engine: longest event-loop stall while sending into a 2,000-message conversation",
            "—",
            median(long_stalls),
            "ms",
            None,
            None,
            len(long_stalls),
            "asyncio heartbeat (1 ms sleeps) from send() to the reply's done event; "
            "the window's frame budget is 16 ms",
        ),
    ]


if __name__ == "__main__":
    finish(main())
