"""The local API under a desktop's real load, and far past it.

Two loads, each on a fresh server. **The desktop's load** (the target): 20 conversations
streaming at 50 tokens/s each, 5 SSE subscribers per conversation (the window, the
built-in page, a script or two); every delta must reach every subscriber within 50 ms
(p99). **Stress**: 100 conversations at 20 tokens/s, 100 subscribers each (10,000
streams, 200,000 SSE deliveries/s): nothing may be lost or reordered; its latency is
reported, without a target, because two shared cores cannot deliver that many events on
time and no desktop asks them to.

Four kinds of process share the 2 cores, each with its own interpreter:

* upstream: the test suite's fake OpenAI server (tests/fake_openai.py, run by this
  script's `--upstream` mode), one SSE event per token with a fixed pause between events
  (the rate reached is reported). Each token's text carries its index and
  `time.monotonic_ns()` read just before the event is written to the socket
  (CLOCK_MONOTONIC is one clock for the whole machine on Linux, so other processes can
  subtract from it). Its sockets are TCP_NODELAY, as real servers' are.
* server (`--server`): what `desktop-chat serve` runs, ApiServer over a real Core, in a
  fresh copy of the "cold" data set (1,000 conversations / 100,000 messages) with its agent
  pointed at the upstream, and a token made by `desktop-chat tokens create`. Its settings
  as a user would set them for this: every conversation may stream at once
  (`max_concurrent_requests`, 4 by default) and automatic titles are off. It reports its
  full garbage collections (gc.callbacks).
* clients (`--clients`, 2 processes sharing the streams): raw asyncio protocols, no
  HTTP library: an HTTP/1.1 GET with the bearer token, then a regular expression over the
  received bytes that finds each event's id, type, token index and upstream stamp.

The streams stay open across rounds (a conversation's stream outlives its replies). In
each round one message is sent in each conversation, the POSTs spread evenly over one
second (as independent users' messages would come, not in lock step), so that all the
replies stream at once from then until the first one ends. The first round (10 tokens)
is a warm-up; the measured round has about 5 s of tokens.

* Chunk-to-client latency: for every delta on every stream, the client's
  `time.monotonic_ns()` when its event loop handed it the bytes, minus the upstream's
  stamp: it covers the upstream's socket, the openai SDK, the engine, the API and the
  client's own loop. p99 over all deliveries of a round (0.1 ms buckets, upper edge); the
  notes add the p99 without each reply's first second (the replies' start-up: POSTs,
  requests upstream), the rates reached, the CPU each process used (/proc, % of one
  core) and the server's full garbage collections with their longest pause.
* Every event delivered: each stream must get, per reply, the user's message, every
  delta exactly once and in order (token indexes 0..n-1), the stored reply as a `message`
  event, then `done`, with rising SSE ids. Missing = expected events not received so.
* Time to first token, on the idle server before the load: upstream's own (openai SDK
  straight to the fake server: `create()` to the first content chunk) against the API's
  (a raw keep-alive POST of the message to the first delta on an open SSE stream of that
  conversation) and the OpenAI-compatible gateway's (the same openai SDK call, pointed at
  /v1 with the agent's name as the model), 7 runs each, in turn, after one warm-up;
  medians and their differences.

`--profile FILE` runs the server under pyinstrument and writes its text report there.

    python bench/bench_api.py [--conversations 20] [--subscribers 5] [--rate 50]
        [--stress-conversations 100] [--stress-subscribers 100] [--stress-rate 20]
        [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from _common import BENCH, REPO, Row, check, cpu_seconds, die_with_parent, finish, median
from dataset import fresh_home

CLIENT_PROCESSES = 2
CONNECTING = 48  # connections each client process opens at once
STAMP = "@@NS@@"  # replaced by the upstream with its clock, as it sends the event
BUCKET_NS = 100_000  # latency histogram: 0.1 ms buckets, up to 10 s
BUCKETS = 100_000
RAMP = 1.0  # seconds over which a round's replies start
LATENCY_TARGET_MS = 50.0
TTFT_TARGET_MS = 10.0
UPSTREAM_MODEL = "fake-model"
AGENT = "Bench"  # the data set's agent: the gateway's name for its model
# An event: its id, type, and for a delta the token's index and upstream stamp, for a
# message its role (the first "role" of a message is its own: fields come in model order).
EVENT = re.compile(
    rb'id: (\d+)\ndata: \{"type": "(\w+)", "data": \{'
    rb'(?:"text": "(\d+):(\d+) |[^\n]*?"role": "(\w+)")?'
)


def tokens(count: int) -> list[str]:
    return [f"{i}:{STAMP} " for i in range(count)]


def child_command(*args: str) -> list[str]:
    return [sys.executable, str(BENCH / "bench_api.py"), *args]


# Upstream ------------------------------------------------------------------------------


def upstream_main() -> None:
    """The fake OpenAI server, stamping each event; stdin lines "DELAY COUNT" set the reply.

    The stamp is written in where the fake server writes an event to its socket: the
    suite's server has no hook for it, and the pause before an event must not count.
    """
    from tests import fake_openai

    write_event = fake_openai._Handler._event

    def stamped(handler: fake_openai._Handler, data: str) -> None:
        write_event(handler, data.replace(STAMP, str(time.monotonic_ns()), 1))

    fake_openai._Handler._event = stamped  # type: ignore[method-assign]
    fake = fake_openai.FakeOpenAI(scenario=fake_openai.Scenario(tokens=tokens(5)))
    with fake:
        print(fake.base_url, flush=True)
        while line := sys.stdin.readline():
            delay, count = line.split()
            fake.scenario = fake_openai.Scenario(tokens=tokens(int(count)), delay=float(delay))
            print("ok", flush=True)


# Server --------------------------------------------------------------------------------


class GcWatch:
    """Full (generation 2) garbage collections and how long they held the process up."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1000)

    def take(self) -> list[float]:
        pauses, self.pauses = self.pauses, []
        return pauses


async def server_main(concurrency: int) -> None:
    """ApiServer over a real Core in DESKTOP_CHAT_HOME, as `desktop-chat serve`.

    Each stdin line asks for the full garbage collections since the last one (a JSON
    list of their pauses in ms); it stops at EOF.
    """
    from desktop_chat.api import ApiServer
    from desktop_chat.app import Core
    from desktop_chat.engine.collector import FullCollectionsWaitForReplies

    watch = GcWatch()
    core = await Core.open()
    config = replace(core.service.config, max_concurrent_requests=concurrency, auto_title=False)
    await core.service.reconfigure(config)
    await core.service.warm_up()
    server = ApiServer(core.service, core.tokens, core.gateway, port=0)
    await server.start()
    gc.freeze()  # as `desktop-chat serve` does once started, with the collector's pacing
    collector = FullCollectionsWaitForReplies(core.service)
    print(server.url, flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        print(json.dumps(watch.take()), flush=True)
    await server.stop()
    collector.close()
    await core.aclose()


# Clients -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one process's streams received in the current round."""

    streams: int
    tokens: int = 0
    ramp_tokens: int = 0  # deltas sent in each reply's first second
    hist: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    steady: list[int] = field(default_factory=lambda: [0] * BUCKETS)  # the others
    problems: list[str] = field(default_factory=list)  # the first few, to show
    finished: int = 0
    first_ns: int = 0
    last_ns: int = 0
    spans: dict[str, list[int]] = field(default_factory=dict)  # conversation: first, last, n
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self, token_count: int, ramp_tokens: int) -> None:
        self.tokens, self.ramp_tokens = token_count, ramp_tokens
        self.hist = [0] * BUCKETS
        self.steady = [0] * BUCKETS
        self.problems, self.finished = [], 0
        self.first_ns = self.last_ns = 0
        self.spans = {}
        self.complete.clear()

    def problem(self, text: str) -> None:
        if len(self.problems) < 5:
            self.problems.append(text)


class SseClient(asyncio.Protocol):
    """One stream of one conversation; parses just enough SSE to check and time each event."""

    def __init__(self, tally: Tally, request: bytes, conversation_id: str, track: bool) -> None:
        self.tally = tally
        self.request = request
        self.conversation_id = conversation_id
        self.track = track  # one stream per conversation records the upstream's pace
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.closing = False
        self.head = b""
        self.buffer = b""
        self.last_seq = 0
        self.reset()

    def reset(self) -> None:
        self.next_index = 0
        self.in_order = 0
        self.user = self.stored = self.done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("the server closed the stream"))
        elif not self.closing:
            self.tally.problem(f"{self.conversation_id}: the server ended the stream")

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        if not self.ready.done():
            head, separator, data = (self.head + data).partition(b"\r\n\r\n")
            if not separator:
                self.head = head
                return
            if not head.startswith(b"HTTP/1.1 200 "):
                self.ready.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                return
            self.ready.set_result(None)
        buffer = self.buffer + data if self.buffer else data
        end = buffer.rfind(b"\n\n") + 2
        if end < 2:
            self.buffer = buffer
            return
        self.buffer = buffer[end:]
        # Chunk-size lines of the chunked body sit between events; the expression skips them.
        for seq, kind, index, stamp, role in EVENT.findall(buffer, 0, end):
            self.event(now, int(seq), kind, index, stamp, role)

    def event(
        self, now: int, seq: int, kind: bytes, index: bytes, stamp: bytes, role: bytes
    ) -> None:
        tally = self.tally
        if seq <= self.last_seq:
            tally.problem(f"{self.conversation_id}: id {seq} after {self.last_seq}")
        self.last_seq = seq
        if kind == b"delta":
            sent = int(stamp)
            if int(index) == self.next_index:
                self.in_order += 1
            else:
                tally.problem(f"{self.conversation_id}: token {int(index)}, {self.next_index} due")
            self.next_index = int(index) + 1
            bucket = min((now - sent) // BUCKET_NS, BUCKETS - 1)
            tally.hist[bucket] += 1
            if self.next_index > tally.ramp_tokens:
                tally.steady[bucket] += 1
            tally.first_ns = tally.first_ns or now
            tally.last_ns = now
            if self.track:
                span = tally.spans.setdefault(self.conversation_id, [sent, sent, 0])
                span[1] = sent
                span[2] += 1
        elif kind == b"message":
            if role == b"user":
                self.user = True
            else:
                self.stored = True
        elif kind == b"done":
            self.done = True
            tally.finished += 1
            if tally.finished == tally.streams:
                tally.complete.set()
        else:
            tally.problem(f"{self.conversation_id}: unexpected {kind.decode()} event")

    def missing(self) -> int:
        """Events of this round not received, or not in order."""
        return (
            self.tally.tokens
            - self.in_order
            + (not self.user)
            + (not self.stored)
            + (not self.done)
        )


def stream_request(host: str, conversation_id: str, token: str) -> bytes:
    return (
        f"GET /api/conversations/{conversation_id}/stream HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()


async def open_streams(
    url: str, token: str, conversations: list[str], per_conversation: int, tally: Tally
) -> list[SseClient]:
    """Open every stream, CONNECTING at a time (the server's listen backlog is 128)."""
    loop = asyncio.get_running_loop()
    host = url.removeprefix("http://")
    address, port = host.rsplit(":", 1)
    gate = asyncio.Semaphore(CONNECTING)
    streams = [
        SseClient(tally, stream_request(host, cid, token), cid, track=n == 0)
        for n in range(per_conversation)
        for cid in conversations
    ]

    async def connect(stream: SseClient) -> None:
        async with gate:
            await loop.create_connection(lambda: stream, address, int(port))
            await asyncio.wait_for(stream.ready, 60)

    await asyncio.gather(*(connect(s) for s in streams))
    return streams


async def clients_main(
    url: str, token: str, conversations: list[str], per_conversation: int
) -> None:
    """Stdout: a "ready" line, then for each stdin line "COUNT RAMP TIMEOUT" (a round of
    replies of COUNT tokens, RAMP of them in the first second) "armed" and a report."""
    loop = asyncio.get_running_loop()
    tally = Tally(streams=len(conversations) * per_conversation)
    started = time.perf_counter()
    streams = await open_streams(url, token, conversations, per_conversation, tally)
    print(json.dumps({"ready": len(streams), "seconds": time.perf_counter() - started}), flush=True)
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := (await stdin.readline()).decode().split():
        count, ramp, timeout = line
        tally.reset(int(count), int(ramp))
        for stream in streams:
            stream.reset()
        cpu = time.process_time()
        print("armed", flush=True)
        try:
            await asyncio.wait_for(tally.complete.wait(), float(timeout))
        except TimeoutError:
            tally.problem(f"{tally.streams - tally.finished} streams had no done event in time")
        report = {
            "missing": sum(s.missing() for s in streams),
            "expected": tally.streams * (tally.tokens + 3),
            "problems": tally.problems,
            "hist": {i: n for i, n in enumerate(tally.hist) if n},
            "steady": {i: n for i, n in enumerate(tally.steady) if n},
            "first_ns": tally.first_ns,
            "last_ns": tally.last_ns,
            "spans": tally.spans,
            "cpu": time.process_time() - cpu,
        }
        print(json.dumps(report), flush=True)
    for stream in streams:
        stream.close()


# The benchmark -------------------------------------------------------------------------


class Child:
    """A helper process of this benchmark, driven by lines on its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, command: list[str], env: dict[str, str] | None = None) -> Child:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(REPO),
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,  # a client's report is one long line
            preexec_fn=die_with_parent,
        )
        return cls(process)

    async def line(self, timeout: float = 120) -> str:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError(f"{self.process.pid} exited (status {await self.process.wait()})")
        return raw.decode().strip()

    async def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    async def stop(self) -> None:
        """Close its stdin (the children end at EOF), then make sure it is gone."""
        if self.process.returncode is None and self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


class Http:
    """One keep-alive HTTP/1.1 connection to the API, JSON in and out, with little overhead."""

    def __init__(self, url: str, token: str) -> None:
        self.host = url.removeprefix("http://")
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Http:
        address, port = self.host.rsplit(":", 1)
        self.reader, self.writer = await asyncio.open_connection(address, int(port))
        return self

    async def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        assert self.reader is not None and self.writer is not None
        data = json.dumps(body).encode() if body is not None else b""
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode().lower()
        length = int(re.search(r"content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        payload = await self.reader.readexactly(length)
        return int(head.split()[1]), json.loads(payload) if payload else None

    async def create_conversation(self) -> str:
        status, body = await self.call("POST", "/api/conversations", {})
        assert status == 201, body
        return str(body["id"])

    async def send_message(self, conversation_id: str, text: str) -> None:
        status, body = await self.call(
            "POST", f"/api/conversations/{conversation_id}/messages", {"text": text}
        )
        assert status == 202, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def sdk_ttft(client: Any, model: str) -> float:
    """`create()` to the first content chunk through an AsyncOpenAI: straight from the fake
    server (model "fake-model"), or through the gateway (model: the agent's name)."""
    started = time.perf_counter()
    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    first = 0.0
    async with stream:
        async for chunk in stream:
            if not first and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter()
    return (first - started) * 1000


async def api_ttft(http: Http, url: str, token: str, conversation_id: str) -> float:
    tally = Tally(streams=1)
    (stream,) = await open_streams(url, token, [conversation_id], 1, tally)
    try:
        started = time.monotonic_ns()
        await http.send_message(conversation_id, "Hi")
        await asyncio.wait_for(tally.complete.wait(), 30)
        return (tally.first_ns - started) / 1e6
    finally:
        stream.close()


async def measure_ttft(
    upstream: Child, base_url: str, http: Http, url: str, token: str, runs: int
) -> tuple[list[float], list[float], list[float]]:
    import openai

    await upstream.send("0 5")
    await upstream.line()
    conversation_id = await http.create_conversation()
    direct, through, gateway = [], [], []
    # One client each, as the engine keeps one per endpoint: all reuse a warm connection.
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    relay = openai.AsyncOpenAI(base_url=url + "/v1", api_key=token, max_retries=0)
    try:
        await sdk_ttft(client, UPSTREAM_MODEL)  # warm-up: imports, connections
        await api_ttft(http, url, token, conversation_id)
        await sdk_ttft(relay, AGENT)
        for _ in range(runs):
            direct.append(await sdk_ttft(client, UPSTREAM_MODEL))
            through.append(await api_ttft(http, url, token, conversation_id))
            gateway.append(await sdk_ttft(relay, AGENT))
    finally:
        await client.close()
        await relay.close()
    return direct, through, gateway


@dataclass
class RoundResult:
    rate: float
    token_count: int
    p50: float
    p99: float
    max: float
    steady_p99: float
    missing: int
    expected: int
    problems: list[str]
    upstream_rate: float
    deliveries: float
    cpu: dict[str, float]
    gc_pauses: list[float]


def merged(reports: list[dict[str, Any]], key: str) -> dict[int, int]:
    hist: dict[int, int] = {}
    for report in reports:
        for bucket, n in report[key].items():
            hist[int(bucket)] = hist.get(int(bucket), 0) + n
    return hist


def percentile_of(hist: dict[int, int], q: float) -> float:
    """Nearest-rank percentile in ms of a bucket histogram (upper edge of the bucket)."""
    total = sum(hist.values())
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return (bucket + 1) * BUCKET_NS / 1e6
    return math.nan


async def load_round(
    rate: float,
    seconds: float,
    upstream: Child,
    server: Child,
    clients: list[Child],
    senders: dict[str, Http],
) -> RoundResult:
    """One reply in each conversation, the replies starting one after the other over RAMP."""
    interval = 1 / rate
    token_count = max(10, round(rate * seconds))
    await upstream.send(f"{interval} {token_count}")
    await upstream.line()
    timeout = token_count * interval * 3 + 30
    for client in clients:
        await client.send(f"{token_count} {round(rate * RAMP)} {timeout}")
    for client in clients:
        assert await client.line() == "armed"
    await server.send("gc")
    await server.line()
    children = {"server": server, "upstream": upstream}  # clients report their own CPU
    cpu_before = {name: child.cpu() for name, child in children.items()}
    wall = time.perf_counter()
    loop = asyncio.get_running_loop()
    start = loop.time()
    sends = []
    for n, (cid, http) in enumerate(senders.items()):
        await asyncio.sleep(max(0.0, start + n * RAMP / len(senders) - loop.time()))
        sends.append(asyncio.create_task(http.send_message(cid, "Count, please.")))
    await asyncio.gather(*sends)
    reports = [json.loads(await client.line(timeout + 30)) for client in clients]
    wall = time.perf_counter() - wall
    cpu = {name: (child.cpu() - cpu_before[name]) / wall * 100 for name, child in children.items()}
    cpu["clients"] = sum(r["cpu"] for r in reports) / wall * 100
    await server.send("gc")
    gc_pauses = json.loads(await server.line())
    hist = merged(reports, "hist")
    spans = [s for r in reports for s in r["spans"].values() if s[2] > 1]
    paces = [(s[2] - 1) / ((s[1] - s[0]) / 1e9) for s in spans]
    first = min((r["first_ns"] for r in reports if r["first_ns"]), default=0)
    span = (max(r["last_ns"] for r in reports) - first) / 1e9
    return RoundResult(
        rate=rate,
        token_count=token_count,
        p50=percentile_of(hist, 50),
        p99=percentile_of(hist, 99),
        max=percentile_of(hist, 100),
        steady_p99=percentile_of(merged(reports, "steady"), 99),
        missing=sum(r["missing"] for r in reports),
        expected=sum(r["expected"] for r in reports),
        problems=[p for r in reports for p in r["problems"]][:5],
        upstream_rate=median(paces) if paces else math.nan,
        deliveries=sum(hist.values()) / span if span > 0 else math.nan,
        cpu=cpu,
        gc_pauses=gc_pauses,
    )


def passes(result: RoundResult) -> bool:
    return result.missing == 0 and result.p99 <= LATENCY_TARGET_MS


def summary(r: RoundResult) -> str:
    """What explains a round's figures: the spread of latencies, rates reached, CPU used."""
    pauses = r.gc_pauses
    return (
        f"p50 {r.p50:.1f} ms, max {r.max:.0f} ms, p99 after each reply's first second "
        f"{r.steady_p99:.1f} ms; {r.token_count} tokens per reply; upstream "
        f"{r.upstream_rate:.1f} tokens/s per conversation, {r.deliveries:,.0f} SSE "
        f"deliveries/s; CPU (% of a core): server {r.cpu['server']:.0f}, clients "
        f"{r.cpu['clients']:.0f}, upstream {r.cpu['upstream']:.0f}; server full GCs "
        + (f"{len(pauses)}, longest {max(pauses):.0f} ms" if pauses else "none")
    )


@dataclass(frozen=True)
class Load:
    """One shape of load: how many conversations stream, watched by how many streams each."""

    conversations: int
    subscribers: int
    rates: list[float]  # tried in turn while the latency target is missed
    label: str


@dataclass
class LoadResult:
    load: Load
    rounds: list[RoundResult]
    connect_seconds: float
    ttft: tuple[list[float], list[float], list[float]] | None  # upstream, API, gateway


def subscribers_per_client(subscribers: int) -> list[int]:
    """Each conversation's subscribers shared out over the client processes (none idle)."""
    shares = [
        subscribers // CLIENT_PROCESSES + (i < subscribers % CLIENT_PROCESSES)
        for i in range(CLIENT_PROCESSES)
    ]
    return [share for share in shares if share]


async def run(args: argparse.Namespace, load: Load, with_ttft: bool) -> LoadResult:
    upstream = await Child.start(child_command("--upstream"))
    base_url = await upstream.line()
    data = fresh_home("cold", base_url=base_url)
    env = {**os.environ, "DESKTOP_CHAT_HOME": str(data.home), "PYTHONPATH": str(REPO)}
    created = subprocess.run(
        [sys.executable, "-m", "desktop_chat", "tokens", "create", "bench"],
        cwd=str(REPO),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = created.stdout.strip()
    server_command = child_command("--server", str(load.conversations))
    if args.profile:
        server_command[1:1] = ["-m", "pyinstrument", "-r", "text", "-o", str(args.profile)]
    server = await Child.start(server_command, env)
    clients: list[Child] = []
    senders: dict[str, Http] = {}
    try:
        url = await server.line(60)
        http = await Http(url, token).open()
        ttft = (
            await measure_ttft(upstream, base_url, http, url, token, args.ttft_runs)
            if with_ttft
            else None
        )
        for _ in range(load.conversations):
            senders[await http.create_conversation()] = await Http(url, token).open()
        http.close()
        ids = ",".join(senders)
        for share in subscribers_per_client(load.subscribers):
            clients.append(
                await Child.start(child_command("--clients", url, token, ids, str(share)))
            )
        ready = [json.loads(await client.line(300)) for client in clients]
        connect_seconds = max(r["seconds"] for r in ready)
        print(f"  {sum(r['ready'] for r in ready):,} streams open in {connect_seconds:.1f} s")
        await load_round(load.rates[0], 0.5, upstream, server, clients, senders)  # warm-up
        results = []
        for rate in load.rates:
            result = await load_round(rate, args.seconds, upstream, server, clients, senders)
            print(
                f"  {load.label}, {rate:g} tokens/s: p99 {result.p99:.1f} ms, "
                f"{result.missing:,} missing; "
                + summary(result)
                + (f"; {result.problems}" if result.problems else "")
            )
            results.append(result)
            if passes(result):
                break
        return LoadResult(load, results, connect_seconds, ttft)
    finally:
        for child in [*clients, server, upstream]:
            await child.stop()
        for sender in senders.values():
            sender.close()


def desktop_rows(result: LoadResult) -> list[Row]:
    """The target: a desktop's real load, every event on time."""
    load, top = result.load, result.rounds[0]
    label = (
        f"API: {load.conversations} conversations streaming at {top.rate:g} tokens/s, "
        f"{load.subscribers} SSE subscribers each"
    )
    rows = [
        Row(
            f"{label}: chunk-to-client latency p99",
            f"≤ {LATENCY_TARGET_MS:g} ms",
            top.p99,
            "ms",
            None,
            check(top.p99, LATENCY_TARGET_MS),
            1,
            summary(top),
        ),
        missing_row(label, result),
    ]
    if result.ttft is not None:
        rows += ttft_rows(*result.ttft)
    return rows


def stress_rows(result: LoadResult) -> list[Row]:
    """Far past a desktop's load: nothing may be lost or reordered; latency is reported."""
    load, top = result.load, result.rounds[0]
    streams = load.conversations * load.subscribers
    label = (
        f"API stress: {load.conversations} conversations streaming at {top.rate:g} tokens/s, "
        f"{load.subscribers} SSE subscribers each"
    )
    return [
        missing_row(label, result),
        Row(
            f"{label}: chunk-to-client latency p99",
            "—",
            top.p99,
            "ms",
            None,
            None,
            1,
            summary(top),
        ),
        Row(
            f"{label}: open the {streams:,} streams",
            "—",
            result.connect_seconds,
            "s",
            None,
            None,
            1,
            f"{CLIENT_PROCESSES} client processes, {CONNECTING} connections at a time each",
        ),
    ]


def missing_row(label: str, result: LoadResult) -> Row:
    top = result.rounds[0]
    streams = result.load.conversations * result.load.subscribers
    return Row(
        f"{label}: events not delivered (or out of order)",
        "0",
        float(top.missing),
        "events",
        None,
        top.missing == 0,
        1,
        f"of {top.expected:,} expected on {streams:,} streams"
        + (f"; first problems: {'; '.join(top.problems[:2])}" if top.problems else ""),
    )


def ttft_rows(direct: list[float], through: list[float], gateway: list[float]) -> list[Row]:
    ttft_direct, ttft_api, ttft_gateway = median(direct), median(through), median(gateway)
    return [
        Row(
            "API: time to first token, through the API minus upstream's own",
            f"≤ {TTFT_TARGET_MS:g} ms",
            ttft_api - ttft_direct,
            "ms",
            None,
            check(ttft_api - ttft_direct, TTFT_TARGET_MS),
            len(through),
            f"idle server; upstream (openai SDK) {ttft_direct:.1f} ms, through the API "
            f"(POST → first SSE delta) {ttft_api:.1f} ms; medians",
        ),
        Row(
            "API gateway: time to first token, through /v1/chat/completions minus upstream's own",
            f"≤ {TTFT_TARGET_MS:g} ms",
            ttft_gateway - ttft_direct,
            "ms",
            None,
            check(ttft_gateway - ttft_direct, TTFT_TARGET_MS),
            len(gateway),
            f"idle server; the same openai SDK call, straight upstream {ttft_direct:.1f} ms, "
            f"through the gateway {ttft_gateway:.1f} ms; medians",
        ),
    ]


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=20, help="the desktop's load")
    parser.add_argument("--subscribers", type=int, default=5)
    parser.add_argument("--rate", type=float, default=50.0, help="tokens/s per reply")
    parser.add_argument("--stress-conversations", type=int, default=100)
    parser.add_argument("--stress-subscribers", type=int, default=100)
    parser.add_argument("--stress-rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=5.0, help="of tokens per round")
    parser.add_argument("--ttft-runs", type=int, default=7)
    parser.add_argument("--profile", type=Path, help="pyinstrument report of the server")
    args, _ = parser.parse_known_args()
    desktop = Load(args.conversations, args.subscribers, [args.rate], "desktop")
    stress = Load(args.stress_conversations, args.stress_subscribers, [args.stress_rate], "stress")
    return desktop_rows(asyncio.run(run(args, desktop, with_ttft=True))) + stress_rows(
        asyncio.run(run(args, stress, with_ttft=False))
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--upstream"]:
        upstream_main()
    elif sys.argv[1:2] == ["--server"]:
        asyncio.run(server_main(int(sys.argv[2])))
    elif sys.argv[1:2] == ["--clients"]:
        url, token, ids, per_conversation = sys.argv[2:6]
        asyncio.run(clients_main(url, token, ids.split(","), int(per_conversation)))
    else:
        finish(main())
