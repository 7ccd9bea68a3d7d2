"""Memory: the window with a 2,000-message conversation open and 10,000 in the list, and
its growth over 1,000 replies through the engine against the fake server.

Each variant runs in a fresh process (this script with `--child VARIANT`), with the real
Core and main window on a qasync loop, and the test suite's fake OpenAI server in its own
process (a 6-token reply, no delay). RSS is read from /proc; each RSS figure is the
median of 5 samples taken 100 ms apart after a garbage collection and a 1 s pause.

* rss: 10,000 conversations / 100,000 messages (bench/dataset.py "large"): RSS once the
  2,000-message conversation is shown.
* growth: 1,000 replies, 10 in each of 100 new conversations, each opened in the window
  as a person starting a new chat would (engine, bridge, list model and chat view all
  work). The list holds 1,000 conversations (data set "cold"): with 10,000, every reply
  costs the window about 250 ms in the list model (see docs/benchmarks.md), and 1,000
  replies would not fit the benchmark's time budget. Application settings are the
  defaults, so each new conversation also asks the server for a title.
* long: replies into one open conversation (100 by default): every reply adds a message
  widget to the view, which must drop those far above the viewport to stay flat.
* images: the same, each question carrying its own photo-sized JPEG (#14): the view shows
  a thumbnail per message and every request sends all the images of the conversation.

Growth is measured from a baseline taken after 10 warm-up replies (HTTP client, caches).

    python bench/bench_memory.py [--replies 1000] [--long-replies 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time

from _common import (
    BENCH,
    OpenWindow,
    Row,
    check,
    finish,
    rss_mb,
    run_qasync,
    start_fake_server,
    stop_process,
    wait_async,
)
from dataset import fresh_home

WARM_UP = 10
PER_CONVERSATION = 10


async def settled_rss() -> float:
    gc.collect()
    await asyncio.sleep(1.0)
    samples = []
    for _ in range(5):
        samples.append(rss_mb())
        await asyncio.sleep(0.1)
    return statistics.median(samples)


def photo(number: int) -> object:
    """A distinct 640 x 480 JPEG of about 30 KB, read as the window reads a dropped file."""
    import io

    from PIL import Image, ImageDraw

    from desktop_chat.engine.attachments import from_bytes

    image = Image.new("RGB", (640, 480), (number * 37 % 256, number * 91 % 256, 128))
    draw = ImageDraw.Draw(image)
    for k in range(40):
        draw.line((k * 16, 0, 640 - k * 16, 480), fill=(k * 6, 255 - k * 6, number % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return from_bytes(f"photo-{number}.jpg", out.getvalue())


def child(variant: str, replies: int) -> dict[str, object]:
    server, base_url = start_fake_server(["Sure", ",", " here", " it", " is", "."])
    data = fresh_home("large" if variant == "rss" else "cold", base_url=base_url)
    first_id = str(data.meta["long_id"] or data.meta["newest_id"])
    result: dict[str, object] = {"variant": variant}

    async def scenario() -> None:
        async with OpenWindow(data.home) as (core, window):
            service = core.service
            window.sidebar.select(first_id)
            await wait_async(lambda: window.session.is_open(first_id))
            result["open_mb"] = await settled_rss()
            result["listed"] = window.sidebar.model.conversation_count
            result["open_messages"] = len(window.session.current.messages)
            if variant == "rss":
                return
            from desktop_chat.engine.events import ReplyDone

            done = asyncio.Event()
            service.bus.subscribe(lambda e: done.set() if isinstance(e, ReplyDone) else None)

            async def open_new() -> str:
                before = window.session.current_id
                window.new_conversation()
                await wait_async(
                    lambda: (
                        window.session.current is not None and window.session.current.id != before
                    )
                )
                return window.session.current.id

            per_conversation = PER_CONVERSATION if variant == "growth" else replies + WARM_UP
            photos = variant == "images"
            checkpoints: list[tuple[int, float]] = []
            started = time.perf_counter()
            target = ""
            for i in range(WARM_UP + replies):
                if i == WARM_UP:
                    result["base_mb"] = await settled_rss()
                    started = time.perf_counter()
                if i % per_conversation == 0:
                    target = await open_new()
                done.clear()
                await service.send(
                    target,
                    f"Question number {i}: tell me more.",
                    attachments=[photo(i)] if photos else (),
                )
                await done.wait()
                await wait_async(lambda t=target: not service.in_flight(t))
                n = i - WARM_UP + 1
                if n > 0 and n % max(1, replies // 4) == 0:
                    checkpoints.append((n, round(rss_mb(), 1)))
            result["seconds"] = time.perf_counter() - started
            await wait_async(lambda: not service.active_replies, 30)
            await wait_async(lambda: False, 0.5)  # let the title requests finish
            result["after_mb"] = await settled_rss()
            result["checkpoints"] = checkpoints
            result["shown"] = window.chat.shown_count

    try:
        run_qasync(scenario)
    finally:
        stop_process(server)
    return result


def run_child(variant: str, replies: int) -> dict[str, object]:
    process = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_memory.py"),
            "--child",
            variant,
            "--replies",
            str(replies),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in process.stdout.splitlines() if ln.startswith("{")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"memory child {variant} failed:\n{process.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--long-replies", type=int, default=100)
    parser.add_argument("--child")
    args, _ = parser.parse_known_args()
    if args.child:
        print(json.dumps(child(args.child, args.replies)), flush=True)
        sys.exit(0)
    fresh_home("large")  # build the data sets once, outside the timed children
    fresh_home("cold")
    runs = {
        "rss": run_child("rss", 0),
        "growth": run_child("growth", args.replies),
        "long": run_child("long", args.long_replies),
        "images": run_child("images", args.long_replies),
    }
    for v, r in runs.items():
        print(f"  {v}: " + json.dumps(r))
    opened = float(runs["rss"]["open_mb"])
    rows = [
        Row(
            "Memory: RSS, 2,000-message conversation open, 10,000 in the list",
            "≤ 250 MB",
            opened,
            "MB",
            None,
            check(opened, 250),
            1,
            "median of 5 samples",
        ),
    ]
    for variant, count, label, how in (
        (
            "growth",
            args.replies,
            f"Memory: growth after {args.replies:,} replies",
            f"{PER_CONVERSATION} replies in each of {args.replies // PER_CONVERSATION} new "
            "conversations, each open in the window",
        ),
        (
            "long",
            args.long_replies,
            f"Memory: growth after {args.long_replies:,} replies in one open conversation",
            "every reply adds a message widget to the view, at the bottom",
        ),
        (
            "images",
            args.long_replies,
            f"Memory: growth after {args.long_replies:,} image messages in one open "
            "conversation",
            "each question carries its own 640 x 480 JPEG, shown as a thumbnail and sent "
            "again with every later question",
        ),
    ):
        r = runs[variant]
        base, after = float(r["base_mb"]), float(r["after_mb"])
        growth = (after - base) / base * 100
        trend = ", ".join(f"{n}: {mb:.0f}" for n, mb in r["checkpoints"])
        rows.append(
            Row(
                label,
                "≤ 5 %",
                growth,
                "%",
                None,
                growth <= 5,
                1,
                f"{how}; list of 1,000; {base:.0f} → {after:.0f} MB (RSS after n replies: "
                f"{trend}); {float(r['seconds']) / count * 1000:.0f} ms per reply; "
                f"{r['shown']} message widgets in the view at the end",
            )
        )
    return rows


if __name__ == "__main__":
    finish(main())
