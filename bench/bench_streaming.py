"""Streaming a 20,000-token Markdown reply at 2,000 tokens/s into the chat view.

A 1 ms precise QTimer hands the view every token that is due (as the engine would, one
`ChatView.append_delta` call per token; after a stall the due tokens arrive in a burst,
as they would from a network buffer). At the end, the stored reply arrives through
`ChatView.add_message`, as the engine's "message" event does. Measured, per run:

* longest event-loop stall: largest gap between ticks of a second 1 ms precise timer;
* chunk-to-paint latency: time from a token's `append_delta` to the start of the first
  paint event of the streaming widget's text viewport that shows it (a token counts as
  shown once a frame of the view's 16 ms frame timer has taken it in);
* end of stream to full text: from the last `append_delta` to the first paint of the
  finished reply (Markdown rendered in full).

The reply is prose, headings, bullet and numbered lists and code blocks (bench/dataset.py,
`long_reply_tokens`), about 73,000 characters. The view is 900 x 700 px, light theme.

The runs are made twice: idle, then with one core kept busy by another process (a busy
loop, bench/_common.py `CpuHog`), as on a desktop where other programs run; both stall
figures are reported, with the load average at the start and end. Under the same hog the
two 1 ms timers also run for as long without the view, as a floor: what the machine's
scheduler and its other programs cost the event loop alone, so that the view's share of
a busy-core stall can be told from the machine's. No upstream runs in this process.

    python bench/bench_streaming.py [--runs 3] [--tokens 20000] [--rate 2000] [--math]
"""

from __future__ import annotations

import argparse
import bisect
import os
import time

from _common import (
    CpuHog,
    Row,
    busy_stall_row,
    check,
    finish,
    median,
    ms,
    pause_qt,
    percentile,
    protect_singletons,
    qt_probes,
    wait_qt,
)
from dataset import TextGen, long_reply_tokens, math_reply_tokens


def history(n: int = 6) -> list:
    from desktop_chat.schemas import Message

    gen = TextGen(3)
    return [
        Message(
            id=i + 1,
            role="user" if i % 2 == 0 else "assistant",
            content=gen.question() if i % 2 == 0 else gen.answer(),
        )
        for i in range(n)
    ]


def one_run(view, tokens: list[str], rate: float) -> dict[str, float]:
    from PySide6.QtCore import Qt, QTimer

    from desktop_chat.schemas import Message
    from desktop_chat.ui.markdown import render_markdown

    StallMonitor, PaintProbe = qt_probes()
    render_markdown.cache_clear()
    view.show_conversation(history(), None)
    pause_qt(0.3)
    view.begin_stream(label="Assistant")
    widget = view._stream
    sent_times: list[float] = []
    frames: list[tuple[float, int]] = []  # (time, tokens taken in) after each view frame
    paints: list[tuple[float, int]] = []  # (time, tokens shown) at each paint
    state = {"end": 0.0, "message": 0.0, "full": 0.0}

    def on_frame() -> None:  # connected after the view's own slot, so runs after it
        frames.append((time.perf_counter(), len(sent_times)))

    def on_paint(now: float) -> None:
        shown = frames[-1][1] if frames else 0
        paints.append((now, shown))
        if state["message"] and not state["full"]:
            state["full"] = now

    view._frame.timeout.connect(on_frame)
    probe = PaintProbe(widget.body.viewport(), on_paint)
    monitor = StallMonitor()
    driver = QTimer()
    driver.setTimerType(Qt.TimerType.PreciseTimer)
    driver.setInterval(1)
    text = "".join(tokens)

    def deliver_message() -> None:
        view.add_message(Message(id=10_000, role="assistant", content=text, model="fake-model"))
        state["message"] = time.perf_counter()

    def tick() -> None:
        due = min(len(tokens), int((time.perf_counter() - started) * rate) + 1)
        while len(sent_times) < due:
            sent_times.append(time.perf_counter())
            view.append_delta(tokens[len(sent_times) - 1], "")
        if len(sent_times) == len(tokens):
            driver.stop()
            state["end"] = sent_times[-1]
            QTimer.singleShot(0, deliver_message)

    driver.timeout.connect(tick)
    monitor.start()
    started = time.perf_counter()
    driver.start()
    wait_qt(lambda: state["full"] > 0, timeout=120)
    pause_qt(0.2)  # stalls right after the end count too
    gaps = monitor.stop()
    probe.remove()
    view._frame.timeout.disconnect(on_frame)

    paint_times = [p[0] for p in paints]
    shown_counts = [p[1] for p in paints]
    latencies = []
    for i, sent in enumerate(sent_times):
        k = bisect.bisect_right(shown_counts, i)  # first paint that shows token i
        shown_at = paint_times[k] if k < len(paints) else state["full"]
        latencies.append(ms(shown_at - sent))
    duration = sent_times[-1] - sent_times[0]
    return {
        "stall": max(gaps),
        "stalls_over_16": sum(g > 16 for g in gaps),
        "lat_p50": percentile(latencies, 50),
        "lat_p95": percentile(latencies, 95),
        "lat_p99": percentile(latencies, 99),
        "lat_max": max(latencies),
        "full": ms(state["full"] - state["end"]),
        "rate": (len(sent_times) - 1) / duration,
        "frames": len(frames),
        "paints": len(paints),
    }


def floor_run(tokens: int, rate: float) -> dict[str, float]:
    """The same two 1 ms timers for as long as a run, with no view: what the machine
    alone (its scheduler, the other programs) costs this process's event loop."""
    from PySide6.QtCore import Qt, QTimer

    StallMonitor, _ = qt_probes()
    monitor = StallMonitor()
    driver = QTimer()
    driver.setTimerType(Qt.TimerType.PreciseTimer)
    driver.setInterval(1)
    sent: list[float] = []

    def tick() -> None:
        due = min(tokens, int((time.perf_counter() - started) * rate) + 1)
        while len(sent) < due:
            sent.append(time.perf_counter())
        if len(sent) == tokens:
            driver.stop()

    driver.timeout.connect(tick)
    monitor.start()
    started = time.perf_counter()
    driver.start()
    wait_qt(lambda: len(sent) == tokens, timeout=120)
    gaps = monitor.stop()
    return {"stall": max(gaps), "stalls_over_16": sum(g > 16 for g in gaps)}


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=2_000)
    parser.add_argument("--math", action="store_true", help="a math-heavy reply instead")
    args, _ = parser.parse_known_args()

    from PySide6.QtWidgets import QApplication

    from desktop_chat.ui.chat_view import ChatView
    from desktop_chat.ui.theme import apply_theme

    protect_singletons()
    app = QApplication.instance() or QApplication([])
    apply_theme(app, "light")
    view = ChatView()
    view.resize(900, 700)
    view.show()
    tokens = (math_reply_tokens if args.math else long_reply_tokens)(args.tokens)
    load_start = os.getloadavg()[0]
    runs = []
    for i in range(args.runs):
        result = one_run(view, tokens, args.rate)
        print(f"  run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()))
        runs.append(result)
    busy, floor = [], []
    with CpuHog():
        for i in range(args.runs):  # each run next to its floor: the machine's load drifts
            result = one_run(view, tokens, args.rate)
            print(f"  busy run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()))
            busy.append(result)
            floor.append(floor_run(args.tokens, args.rate))
            print(f"  busy floor {i + 1}: stall {floor[-1]['stall']:.1f} ms")
    load = f"load average {load_start:.2f} → {os.getloadavg()[0]:.2f}"

    def med(key: str) -> float:
        return median([r[key] for r in runs])

    n = len(runs)
    kind = " of a math-heavy reply" if args.math else ""
    label = f"Streaming {args.tokens:,} tokens{kind} at {args.rate:,.0f} tokens/s into ChatView"
    return [
        Row(
            f"{label}: longest event-loop stall",
            "≤ 16 ms",
            med("stall"),
            "ms",
            None,
            check(med("stall"), 16),
            n,
            f"median of the runs' longest stalls; worst run {max(r['stall'] for r in runs):.0f}"
            f" ms; {med('stalls_over_16'):.0f} stalls over 16 ms per run",
        ),
        Row(
            f"{label}: chunk-to-paint latency p99",
            "≤ 50 ms",
            med("lat_p99"),
            "ms",
            None,
            check(med("lat_p99"), 50),
            n,
            f"p50 {med('lat_p50'):.0f} ms, p95 {med('lat_p95'):.0f} ms, "
            f"max {med('lat_max'):.0f} ms; delivered {med('rate'):,.0f} tokens/s",
        ),
        Row(
            f"{label}: end of stream → full text painted",
            "≤ 100 ms",
            med("full"),
            "ms",
            None,
            check(med("full"), 100),
            n,
            "reply delivered with add_message right after the last"
            " token; includes the final Markdown render",
        ),
        busy_stall_row(
            label,
            busy,
            f"the same timers without the view, same hog: "
            f"{median([r['stall'] for r in floor]):.1f} ms, "
            f"{median([r['stalls_over_16'] for r in floor]):.0f} over 16 ms; {load}",
        ),
    ]


if __name__ == "__main__":
    finish(main())
