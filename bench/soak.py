"""Soak: replies without a pause for N minutes; does anything grow that should not?

The real core (SQLite file, crash journal, engine) and the local API run in this process,
as in the window; the test suite's fake OpenAI server runs in a child process (loopback
only), so that its threads and sockets are not counted. Workers keep replies flowing:

* engine workers call ConversationService as the window does (send, wait for `done`);
* API workers go through HTTP: POST the message, read the reply from the SSE stream;
* every 20th reply of a worker is stopped mid-stream, and every 25 replies a worker
  deletes its conversation and starts a new one, so create, stop and delete run too.

Every 10 s it samples RSS, open file descriptors, threads, asyncio tasks, the database
size and the crash journal. At the end it checks that nothing was lost (each stored
conversation holds one reply per question; no reply in flight; the journal is empty) and
prints the samples and the growth between the first sample after the warm-up and the
last one, as Markdown (and as JSON with --json).

    python bench/soak.py --minutes 2 [--engine-workers 4] [--api-workers 2] [--json FILE]

Linux only (figures come from /proc). It stops by itself after the given time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from desktop_chat.api import ApiServer  # noqa: E402
from desktop_chat.app import Core  # noqa: E402
from desktop_chat.engine import EngineConfig  # noqa: E402
from desktop_chat.engine.events import EngineEvent, ReplyDone  # noqa: E402
from desktop_chat.paths import AppPaths  # noqa: E402
from desktop_chat.schemas import Agent, MessageStatus  # noqa: E402
from desktop_chat.secrets import SecretStore  # noqa: E402

SAMPLE_EVERY = 10.0
WARM_UP = 20.0  # seconds before the baseline sample: HTTP pools, caches, first pages
TOKENS = 40  # per reply, 2 ms apart: a reply takes about 0.1 s
STOP_EVERY = 20
NEW_CONVERSATION_EVERY = 25


@dataclass
class Sample:
    t: float
    rss_mb: float
    fds: int
    threads: int
    tasks: int
    replies: int
    db_mb: float
    journal_files: int


@dataclass
class Tally:
    replies: int = 0
    stopped: int = 0
    failed: int = 0
    no_done: int = 0  # replies whose `done` event never came (a problem)
    conversations: int = 0
    deleted: int = 0
    questions: dict[str, int] = field(default_factory=dict)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def native_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


def sample(t: float, tally: Tally, paths: AppPaths) -> Sample:
    db = paths.database
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())
    return Sample(
        t=round(t, 1),
        rss_mb=round(rss_mb(), 1),
        fds=len(os.listdir("/proc/self/fd")),
        threads=native_threads(),
        tasks=len(asyncio.all_tasks()),
        replies=tally.replies,
        db_mb=round(size / 1e6, 2),
        journal_files=len(list(paths.journal.iterdir())),
    )


def start_fake_server() -> tuple[subprocess.Popen[str], str]:
    tokens = Path(tempfile.mkstemp(suffix=".json")[1])
    tokens.write_text(json.dumps([f"word{i} " for i in range(TOKENS)]))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", "0", "--delay", "0.002",
         "--tokens-file", str(tokens)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


class Done:
    """`done` events of the engine workers' conversations, one queue each."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[ReplyDone]] = {}

    def __call__(self, event: EngineEvent) -> None:
        queue = self.queues.get(event.conversation_id)
        if queue is not None and isinstance(event, ReplyDone):
            queue.put_nowait(event)

    def watch(self, cid: str) -> str:
        self.queues[cid] = asyncio.Queue()
        return cid

    async def wait(self, cid: str) -> ReplyDone:
        async with asyncio.timeout(60):
            return await self.queues[cid].get()


async def engine_worker(core: Core, done: Done, tally: Tally, deadline: float) -> None:
    service = core.service
    cid = done.watch((await service.create_conversation()).id)
    tally.conversations += 1
    n = 0
    while time.monotonic() < deadline:
        n += 1
        await service.send(cid, f"Question {n}: tell me something")
        tally.questions[cid] = tally.questions.get(cid, 0) + 1
        if n % STOP_EVERY == 0:
            await asyncio.sleep(0.03)  # mid-reply, as a person pressing Stop
            await service.stop(cid)
        try:
            status = (await done.wait(cid)).status
        except TimeoutError:
            status = "no done event"
            tally.no_done += 1
        tally.replies += 1
        tally.stopped += status == "stopped"
        tally.failed += status == "failed"
        if n % NEW_CONVERSATION_EVERY == 0:
            await service.delete_conversation(cid)
            tally.questions.pop(cid, None)
            done.queues.pop(cid, None)
            tally.deleted += 1
            cid = done.watch((await service.create_conversation()).id)
            tally.conversations += 1


async def api_worker(base: str, token: str, tally: Tally, deadline: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=base, headers=headers) as session:
        n = 0
        while time.monotonic() < deadline:
            async with session.post("/api/conversations", json={}) as answer:
                cid = (await answer.json())["id"]
            tally.conversations += 1
            async with session.get(f"/api/conversations/{cid}/stream") as stream:
                for _ in range(NEW_CONVERSATION_EVERY):
                    if time.monotonic() >= deadline:
                        break
                    n += 1
                    path = f"/api/conversations/{cid}/messages"
                    async with session.post(path, json={"text": f"API question {n}"}) as sent:
                        assert sent.status == 202, await sent.text()
                    tally.questions[cid] = tally.questions.get(cid, 0) + 1
                    if n % STOP_EVERY == 0:
                        await asyncio.sleep(0.03)
                        async with session.post(f"/api/conversations/{cid}/stop", json={}):
                            pass
                    status = await until_done(stream)
                    if status == "no done event":
                        tally.no_done += 1
                        break  # this stream is out of step now: start another conversation
                    tally.replies += 1
                    tally.stopped += status == "stopped"
                    tally.failed += status == "failed"
            async with session.delete(f"/api/conversations/{cid}") as gone:
                assert gone.status == 204
            tally.questions.pop(cid, None)
            tally.deleted += 1


async def until_done(stream: aiohttp.ClientResponse) -> str:
    try:
        async with asyncio.timeout(60):
            async for line in stream.content:
                if line.startswith(b"data: ") and b'"type": "done"' in line:
                    return str(json.loads(line[6:])["data"]["status"])
    except TimeoutError:
        return "no done event"
    raise RuntimeError("the stream ended before the reply did")


async def soak(
    minutes: float, engine_workers: int, api_workers: int, trace: bool = False
) -> dict[str, Any]:
    fake, base_url = start_fake_server()
    home = Path(tempfile.mkdtemp(prefix="desktop_chat-soak-"))
    paths = AppPaths(data=home / "data", config=home / "config", logs=home / "logs").ensure()
    core = await Core.open(paths, SecretStore(use_keyring=False))
    await core.service.reconfigure(
        EngineConfig(max_concurrent_requests=4, request_timeout=30, auto_title=False)
    )
    await core.service.save_agent(
        Agent(name="Fake", base_url=base_url, model="fake-model", is_default=True)
    )
    server = ApiServer(core.service, port=0, heartbeat=5)
    await server.start()
    _, token = await server.tokens.create("soak")
    done = Done()
    core.service.bus.subscribe(done)
    tally = Tally()
    started = time.monotonic()
    deadline = started + minutes * 60
    samples: list[Sample] = [sample(0, tally, paths)]

    snapshots: list[tracemalloc.Snapshot] = []

    async def sampler() -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY)
            if time.monotonic() >= deadline:
                return  # only samples under load here; one more once the workers are done
            samples.append(sample(time.monotonic() - started, tally, paths))
            print(json.dumps(asdict(samples[-1])), flush=True)
            if trace and (not snapshots and samples[-1].t >= WARM_UP):
                snapshots.append(tracemalloc.take_snapshot())

    if trace:
        tracemalloc.start(4)

    try:
        await asyncio.gather(
            sampler(),
            *(engine_worker(core, done, tally, deadline) for _ in range(engine_workers)),
            *(api_worker(server.url, token, tally, deadline) for _ in range(api_workers)),
        )
        samples.append(sample(time.monotonic() - started, tally, paths))
        if snapshots:
            grown = tracemalloc.take_snapshot().compare_to(snapshots[0], "traceback")
            grown.sort(key=lambda stat: stat.size_diff, reverse=True)
            print("\nPython allocations that grew most after the warm-up (tracemalloc):")
            for stat in grown[:8]:
                print(f"  {stat.size_diff / 1000:+.1f} kB in {stat.count_diff:+d} blocks")
                for line in stat.traceback.format()[-6:]:
                    print("    " + line)
        problems = await check(core, tally)
    finally:
        await server.stop()
        await core.aclose()
        fake.terminate()
        fake.wait(10)
    return report(samples, tally, problems, minutes)


async def check(core: Core, tally: Tally) -> list[str]:
    """Nothing lost: one reply per question, nothing in flight, an empty journal."""
    problems = []
    for cid, asked in tally.questions.items():
        messages = (await core.service.get_conversation(cid)).messages
        users = sum(m.role == "user" for m in messages)
        replies = [m for m in messages if m.role == "assistant"]
        if users != asked or len(replies) != asked:
            problems.append(f"{cid}: {asked} asked, {users} stored, {len(replies)} replies")
        bad = [m.status for m in replies if m.status not in (MessageStatus.COMPLETE,
                                                             MessageStatus.STOPPED)]  # fmt: skip
        if bad:
            problems.append(f"{cid}: replies {bad}")
    if tally.no_done:
        problems.append(f"{tally.no_done} replies never sent their done event")
    if core.service.active_replies:
        problems.append(f"{len(core.service.active_replies)} replies still in flight")
    leftovers = list(core.paths.journal.iterdir())
    if leftovers:
        problems.append(f"{len(leftovers)} crash journal files left")
    return problems


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60 if var else 0.0


def report(
    samples: list[Sample], tally: Tally, problems: list[str], minutes: float
) -> dict[str, Any]:
    loaded, idle = samples[:-1], samples[-1]  # the last sample is taken after the workers end
    steady = [s for s in loaded if s.t >= WARM_UP] or loaded[-1:]
    base, last = steady[0], steady[-1]
    growth = {
        "rss_mb": round(last.rss_mb - base.rss_mb, 1),
        "rss_mb_per_minute": round(slope_per_minute([(s.t, s.rss_mb) for s in steady]), 2),
        "fds": last.fds - base.fds,
        "threads": last.threads - base.threads,
        "tasks": last.tasks - base.tasks,
    }
    replies = max(last.replies - base.replies, 1)
    rate = (last.replies - base.replies) / max(last.t - base.t, 1e-9)
    print()
    print(
        f"Soak: {minutes:g} min, {tally.replies} replies ({rate:.1f}/s), {tally.stopped} "
        f"stopped, {tally.failed} failed, {tally.conversations} conversations, "
        f"{tally.deleted} deleted"
    )
    print()
    print(
        "| t (s) | RSS (MB) | open fds | threads | asyncio tasks | replies | database (MB) "
        "| journal files |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in samples:
        print(
            f"| {s.t:g} | {s.rss_mb:.1f} | {s.fds} | {s.threads} | {s.tasks} | {s.replies} "
            f"| {s.db_mb:.2f} | {s.journal_files} |"
        )
    print()
    print(
        f"Under load, t={base.t:g} s to t={last.t:g} s ({replies} replies): RSS "
        f"{growth['rss_mb']:+.1f} MB ({growth['rss_mb'] * 1000 / replies:+.2f} kB per reply; "
        f"fitted {growth['rss_mb_per_minute']:+.2f} MB/min), open fds {growth['fds']:+d}, "
        f"threads {growth['threads']:+d}, asyncio tasks {growth['tasks']:+d}"
    )
    print(
        f"After the workers stopped: {idle.fds} open fds, {idle.threads} threads, "
        f"{idle.tasks} asyncio tasks, {idle.journal_files} journal files"
    )
    print("Problems: " + ("; ".join(problems) if problems else "none"))
    return {
        "minutes": minutes,
        "tally": {k: v for k, v in asdict(tally).items() if k != "questions"},
        "samples": [asdict(s) for s in samples],
        "baseline_t": base.t,
        "growth": growth,
        "replies_per_second": round(rate, 1),
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--engine-workers", type=int, default=4)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="list what grew (slower; not for figures)"
    )
    args = parser.parse_args()
    result = asyncio.run(
        soak(args.minutes, args.engine_workers, args.api_workers, trace=args.tracemalloc)
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
