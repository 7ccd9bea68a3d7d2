"""The conversation list with 10,000 conversations: filling it, and search as you type.

Data: 10,000 conversations / 100,000 messages (bench/dataset.py "large"; about 5% of the
messages are Chinese), then the same with 1,000,000 messages ("million"), in the real main
window on a qasync loop over a real Core.

The list is filled a page at a time, as the window does it (ChatSession.first_page): the
first page of `PAGE_SIZE` conversations in the order shown, the next ones as the list is
scrolled towards its end.

* Populate: `ConversationService.list_conversations(limit=PAGE_SIZE)` (on the store's
  worker thread) plus `ConversationListModel.set_conversations()` on the window's own
  list model; the figure "until the list is painted" adds the paint.
* Search: for each keystroke, `list_conversations(query=prefix, limit=PAGE_SIZE)`, the
  snippets of the listed page (`search_hits`, as the window asks for them) and
  `set_conversations(result)`, for the successive prefixes of "database" and of "数据库"
  (the search box's 120 ms debounce is not counted). Each keystroke is timed in several
  rounds, going through all the prefixes in each round (so no keystroke repeats the one
  before). The target holds when the p95 over all keystrokes of all rounds is within it.

The load average at the start and end of each data set's run is in the notes.

    python bench/bench_conversation_list.py [--runs 7] [--rounds 5] [--kinds large million]
"""

from __future__ import annotations

import argparse
import os
import time

from _common import (
    OpenWindow,
    Row,
    finish,
    median,
    ms,
    paint_watcher,
    percentile,
    run_qasync,
    wait_async,
)
from dataset import fresh_home

from desktop_chat.session import PAGE_SIZE

WORDS = ("database", "数据库")


def prefixes() -> list[str]:
    return [word[:i] for word in WORDS for i in range(1, len(word) + 1)]


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kinds", nargs="*", default=["large", "million"])
    args, _ = parser.parse_known_args()
    rows: list[Row] = []
    for kind in args.kinds:
        rows += measure(kind, args)
    return rows


def measure(kind: str, args: argparse.Namespace) -> list[Row]:
    load_start = os.getloadavg()[0]
    data = fresh_home(kind)
    size = f"{data.meta['messages']:,} messages (list of {data.meta['conversations']:,})"
    fills: list[tuple[float, float, float]] = []  # service, model, until the list painted
    keys: dict[str, list[tuple[float, float, int]]] = {p: [] for p in prefixes()}

    async def scenario() -> None:
        async with OpenWindow(data.home) as (core, window):
            service = core.service
            model = window.sidebar.model
            view = window.sidebar.view
            for _ in range(args.runs):
                model.set_conversations([])
                await wait_async(lambda: False, 0.2)
                painted: list[float] = []

                def on_paint(widget, now: float, painted=painted) -> None:
                    if widget is view.viewport() and model.rowCount():
                        painted.append(now)

                watcher = paint_watcher(on_paint)
                started = time.perf_counter()
                conversations = await service.list_conversations(limit=PAGE_SIZE)
                fetched = time.perf_counter()
                model.set_conversations(conversations, more=len(conversations) == PAGE_SIZE)
                filled = time.perf_counter()
                await wait_async(lambda painted=painted: bool(painted), 10)
                watcher.remove()
                first_paint = ms(painted[0] - started)
                fills.append((ms(fetched - started), ms(filled - fetched), first_paint))
            assert model.conversation_count == PAGE_SIZE and model.canFetchMore()
            for _ in range(args.rounds):
                for prefix in prefixes():
                    started = time.perf_counter()
                    found = await service.list_conversations(query=prefix, limit=PAGE_SIZE)
                    await service.search_hits([c.id for c in found], prefix)
                    fetched = time.perf_counter()
                    model.set_conversations(found, more=len(found) == PAGE_SIZE)
                    filled = time.perf_counter()
                    keys[prefix].append((ms(fetched - started), ms(filled - fetched), len(found)))
                    await wait_async(lambda: False, 0.05)
                first = await service.list_conversations(limit=PAGE_SIZE)
                model.set_conversations(first, more=True)

    run_qasync(scenario)
    load = f"load average {load_start:.2f} → {os.getloadavg()[0]:.2f}"
    totals = [s + m for s, m, _ in fills]
    per_key = {p: median([s + m for s, m, _ in v]) for p, v in keys.items()}
    worst = sorted(per_key.items(), key=lambda kv: -kv[1])[:3]
    values = [s + m for v in keys.values() for s, m, _ in v]
    detail = "; ".join(
        f"“{p}” {per_key[p]:.0f} ms ({median([s for s, _, _ in keys[p]]):.0f} store + "
        f"{median([m for _, m, _ in keys[p]]):.0f} model, {keys[p][0][2]:,} listed)"
        for p in prefixes()
    )
    print("  keystrokes: " + detail)
    return [
        Row(
            f"Conversation list, {size}: list_conversations + set_conversations",
            "≤ 100 ms",
            median(totals),
            "ms",
            percentile(totals, 95),
            median(totals) <= 100,
            len(totals),
            f"first page of {PAGE_SIZE}: store {median([f[0] for f in fills]):.0f} ms + model "
            f"{median([f[1] for f in fills]):.0f} ms; {load}",
        ),
        Row(
            "… until the list is painted",
            "—",
            median([f[2] for f in fills]),
            "ms",
            percentile([f[2] for f in fills], 95),
            None,
            len(fills),
        ),
        Row(
            f"Search as you type over {size}, per keystroke (list + snippets)",
            "p95 ≤ 50 ms",
            median(values),
            "ms",
            percentile(values, 95),
            percentile(values, 95) <= 50,
            args.rounds,
            f"{len(keys)} keystrokes (“database”, “数据库”) × {args.rounds} rounds; "
            "slowest medians: "
            + ", ".join(f"“{p}” {v:.0f} ms" for p, v in worst)
            + f", max {max(values):.0f} ms; {load}",
        ),
    ]


if __name__ == "__main__":
    finish(main())
