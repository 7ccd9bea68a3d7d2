"""Cold start: `python -m desktop_chat` to its first painted window, against bare PySide6.

Data: 1,000 conversations / 100,000 messages (bench/dataset.py "cold"). Each run launches a
new process (bench/_first_paint.py) and times, from the launch in this process, the line
it prints at the first paint. The app and the bare QMainWindow alternate, after one
discarded warm-up run of each (so both start with a warm disk cache, as a second launch
of the day does). The first app run writes window.ini; later runs restore it like a
returning user's. Bytecode is written (PYTHONDONTWRITEBYTECODE is dropped for the
launches), so later runs load compiled modules as an installed copy does.

Time to usable is launch → the first paint with the list filled and the last conversation
shown; it is reported as a ratio of the bare window's first paint in the same run (the
medians of the alternating runs), next to the first-paint ratio. The load average at the
start and end is in the notes.

The stack's floor is launched in the same alternation: a window built with the libraries
the list and the conversation need (qasync, pydantic, peewee, markdown-it: one message
validated and rendered, a database opened) and none of the app's code. It is what time to
usable cannot go below while the first screen uses them.

`--baseline DIR` also launches the app from another checkout (an earlier commit, e.g.
from `git archive`) in the same alternation, and reports its time to usable beside.

    python bench/bench_cold_start.py [--runs 7] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import BENCH, Row, check, finish, median, ms, percentile
from dataset import fresh_home

WRAPPER = BENCH / "_first_paint.py"


def launch(mode: str, env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(WRAPPER), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    marks: dict[str, float] = {}
    assert process.stdout is not None
    for line in process.stdout:
        marks[line.strip()] = time.perf_counter() - started
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    marks["exit"] = time.perf_counter() - started
    if code != 0 or "painted" not in marks or (mode == "app" and "content" not in marks):
        raise RuntimeError(f"{mode} run failed (exit {code}, marks {marks})")
    return marks


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", help="another checkout's root, launched alongside")
    args, _ = parser.parse_known_args()
    load_start = os.getloadavg()[0]
    data = fresh_home("cold")
    env = {**os.environ, "DESKTOP_CHAT_HOME": str(data.home), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    # An installed desktop-chat has its bytecode compiled (pip does it at install). A
    # checkout run with PYTHONDONTWRITEBYTECODE (set on some machines) would compile
    # every module of its own from source at each launch instead: about 100 modules,
    # 70-100 ms that no user pays. The warm-up runs below write the bytecode.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    launch("bare", env)
    launch("stack", env)
    launch("app", env)
    base_env = {**env, "PYTHONPATH": args.baseline} if args.baseline else None
    if base_env is not None:
        launch("app", base_env)
    bare, stack, app, content, base = [], [], [], [], []
    for _ in range(args.runs):
        bare.append(ms(launch("bare", env)["painted"]))
        stack.append(ms(launch("stack", env)["painted"]))
        marks = launch("app", env)
        app.append(ms(marks["painted"]))
        if "content" in marks:
            content.append(ms(marks["content"]))
        if base_env is not None:
            base.append(ms(launch("app", base_env).get("content", float("nan"))))
    ratio = median(app) / median(bare)
    floor = median(stack) / median(bare)
    usable = median(content) / median(bare) if content else None
    load = f"load average {load_start:.2f} → {os.getloadavg()[0]:.2f}"
    if base:
        load += (
            f"; {args.baseline} in the same runs: {median(base):,.0f} ms, "
            f"{median(base) / median(bare):.2f} x"
        )
    n = args.runs
    data_note = "1,000 conversations / 100,000 messages"
    return [
        Row(
            "Cold start: bare PySide6 QMainWindow, launch → first paint",
            "reference",
            median(bare),
            "ms",
            percentile(bare, 95),
            None,
            n,
        ),
        Row(
            "Cold start: app, launch → first paint",
            "≤ 1,000 ms",
            median(app),
            "ms",
            percentile(app, 95),
            check(median(app), 1000),
            n,
            data_note,
        ),
        Row(
            "Cold start: app first paint ÷ bare first paint",
            "≤ 2.0",
            ratio,
            "x",
            None,
            check(ratio, 2.0),
            n,
            f"ratio of the medians; {load}",
        ),
        Row(
            "Cold start: app, launch → list and conversation painted",
            "—",
            median(content) if content else None,
            "ms",
            percentile(content, 95) if content else None,
            None,
            len(content),
            "first paint with the list filled and the last conversation shown",
        ),
        Row(
            "Cold start: time to usable ÷ bare first paint",
            "≤ 3.0",
            usable,
            "x",
            None,
            check(usable, 3.0),
            len(content),
            f"ratio of the medians, same runs; the stack's floor {floor:.2f} x; {load}",
        ),
        Row(
            "Cold start: the stack's floor (qasync, pydantic, peewee, markdown-it; no app "
            "code), launch → first paint",
            "reference",
            median(stack),
            "ms",
            percentile(stack, 95),
            None,
            n,
            f"{floor:.2f} x bare: what time to usable cannot go below with these libraries",
        ),
    ]


if __name__ == "__main__":
    finish(main())
