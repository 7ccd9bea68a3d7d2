"""End to end: a 20,000-token reply streamed by the fake server through the real engine into
the main window, with 10,000 conversations in the list.

bench_streaming.py measures the chat view alone; this one adds everything between the
socket and the view: the openai SDK, the engine (journal, event bus), the bridge's Qt
signal and MainWindow._on_event, with the list of 10,000 (bench/dataset.py "large"). The
fake OpenAI server (its own process) sends one SSE event per token with a fixed pause
between events, for about 2,000 tokens/s (the rate reached is reported).

Measured as in bench_streaming.py: longest event-loop stall (1 ms precise timer),
chunk-to-paint latency (from the delta event's publication to the first paint of the
streaming text that shows it) and end of stream to full text painted (from the last delta
to the first paint of the stored reply).

The runs are made again with one core kept busy by another process (bench/_common.py
`CpuHog`), each followed by 5 s of the 1 ms timer alone under the same hog: the floor the
machine sets. The fake server shares the machine with both, as a local model server does.

    python bench/bench_streaming_window.py [--runs 3] [--tokens 20000] [--delay 0.00034] [--math]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import time

from _common import (
    CpuHog,
    OpenWindow,
    Row,
    busy_stall_row,
    check,
    finish,
    idle_stall,
    median,
    ms,
    paint_watcher,
    percentile,
    qt_probes,
    run_qasync,
    start_fake_server,
    stop_process,
    wait_async,
)
from dataset import fresh_home, long_reply_tokens, math_reply_tokens


async def one_run(core, window) -> dict[str, float]:
    from desktop_chat.ui.markdown import render_markdown

    StallMonitor, _ = qt_probes()
    service = core.service
    chat = window.chat
    render_markdown.cache_clear()
    before = window.session.current_id
    window.new_conversation()
    await wait_async(
        lambda: window.session.current is not None and window.session.current.id != before
    )
    target = window.session.current.id
    await wait_async(lambda: False, 0.3)
    deltas: list[float] = []
    frames: list[int] = []  # deltas taken in by each frame of the view
    paints: list[tuple[float, int]] = []
    state = {"stored": 0.0, "full": 0.0, "done": 0.0}

    from desktop_chat.engine.events import MessageStored, ReplyDelta, ReplyDone

    def on_event(event) -> None:
        if isinstance(event, ReplyDelta):
            deltas.append(time.perf_counter())
        elif isinstance(event, MessageStored) and event.message.role == "assistant":
            state["stored"] = time.perf_counter()
        elif isinstance(event, ReplyDone):
            state["done"] = time.perf_counter()

    def on_frame() -> None:
        frames.append(len(deltas))

    def on_paint(widget, now: float) -> None:
        stream = chat._stream
        if stream is not None and widget is stream.body.viewport():
            paints.append((now, frames[-1] if frames else 0))
        elif state["stored"] and not state["full"] and chat.isAncestorOf(widget):
            state["full"] = now

    unsubscribe = service.bus.subscribe(on_event, target)
    chat._frame.timeout.connect(on_frame)
    watcher = paint_watcher(on_paint)
    monitor = StallMonitor()
    monitor.start()
    window.compose.send("Write the long report, with code.")
    await wait_async(lambda: bool(state["full"]), 120)
    await asyncio.sleep(0.2)
    gaps = monitor.stop()
    watcher.remove()
    chat._frame.timeout.disconnect(on_frame)
    unsubscribe()

    paint_times = [p[0] for p in paints]
    shown = [p[1] for p in paints]
    latencies = []
    for i, sent in enumerate(deltas):
        k = bisect.bisect_right(shown, i)
        latencies.append(ms((paint_times[k] if k < len(paints) else state["full"]) - sent))
    return {
        "stall": max(gaps),
        "stalls_over_16": sum(g > 16 for g in gaps),
        "lat_p50": percentile(latencies, 50),
        "lat_p99": percentile(latencies, 99),
        "full": ms(state["full"] - deltas[-1]),
        "rate": (len(deltas) - 1) / (deltas[-1] - deltas[0]),
        "deltas": len(deltas),
    }


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--delay", type=float, default=0.00034)
    parser.add_argument("--math", action="store_true", help="a math-heavy reply instead")
    args, _ = parser.parse_known_args()
    tokens = (math_reply_tokens if args.math else long_reply_tokens)(args.tokens)
    server, base_url = start_fake_server(tokens, delay=args.delay)
    runs: list[dict[str, float]] = []
    busy: list[dict[str, float]] = []
    load_start = os.getloadavg()[0]
    try:
        data = fresh_home("large", base_url=base_url)

        async def scenario() -> None:
            async with OpenWindow(data.home) as (core, window):
                core.service.config.auto_title = False
                for i in range(args.runs):
                    result = await one_run(core, window)
                    print(f"  run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()))
                    runs.append(result)
                with CpuHog():
                    for i in range(args.runs):  # each next to its floor: the load drifts
                        result = await one_run(core, window)
                        result["floor"] = await idle_stall(5)
                        figures = ", ".join(f"{k} {v:.1f}" for k, v in result.items())
                        print(f"  busy run {i + 1}: {figures}")
                        busy.append(result)

        run_qasync(scenario)
    finally:
        stop_process(server)

    def med(key: str) -> float:
        return median([r[key] for r in runs])

    n = len(runs)
    worst = max(r["stall"] for r in runs)
    kind = "math-heavy " if args.math else ""
    label = f"Window end to end, {args.tokens:,}-token {kind}reply, list of 10,000"
    rate = f"{med('rate'):,.0f} tokens/s reached"
    return [
        Row(
            f"{label}: longest event-loop stall",
            "≤ 16 ms",
            med("stall"),
            "ms",
            None,
            check(med("stall"), 16),
            n,
            f"median of the runs' longest stalls; worst run {worst:.0f} ms; "
            f"{med('stalls_over_16'):.0f} stalls over 16 ms per run; {rate}",
        ),
        busy_stall_row(
            label,
            busy,
            f"{median([r['rate'] for r in busy]):,.0f} tokens/s reached; the 1 ms timer alone, "
            f"same hog: {median([r['floor'] for r in busy]):.1f} ms; load average "
            f"{load_start:.2f} → {os.getloadavg()[0]:.2f}",
        ),
        Row(
            f"{label}: chunk-to-paint latency p99",
            "≤ 50 ms",
            med("lat_p99"),
            "ms",
            None,
            check(med("lat_p99"), 50),
            n,
            f"p50 {med('lat_p50'):.0f} ms; {rate}",
        ),
        Row(
            f"{label}: end of stream → full text painted",
            "≤ 100 ms",
            med("full"),
            "ms",
            None,
            check(med("full"), 100),
            n,
            "includes storing the reply and the final render",
        ),
    ]


if __name__ == "__main__":
    finish(main())
