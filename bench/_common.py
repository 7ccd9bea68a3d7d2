"""Shared helpers for the benchmarks: results, statistics, machine facts and Qt probes.

Every benchmark is a plain script, runnable alone (`python bench/bench_engine.py`). It
prints its rows; with `--json FILE` it also writes them for `bench/run_all.py`, which
collects every script's rows into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.fake_openai is part of the test suite, not the package

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def protect_singletons() -> None:
    """Keep None, True and False alive through PySide6's reference-count leak.

    With PySide6 6.12.0 on CPython 3.11 every Qt method that returns nothing (update(),
    setText(), processEvents(), QTimer.start()...) takes one reference from None without
    having given one, and some bool results do the same to True/False; after some
    thousands of calls the process aborts with "Fatal Python error: none_dealloc" (from
    Python 3.12 on these objects are immortal and the leak is harmless). The benchmarks
    need runs longer than that, so they add a large, fixed number of references first.
    See docs/benchmarks.md.
    """
    import ctypes

    if sys.version_info >= (3, 12):
        return
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


@dataclass
class Row:
    """One line of the results table. `passed` is None for figures without a target."""

    benchmark: str
    target: str
    median: float | None
    unit: str
    p95: float | None = None
    passed: bool | None = None
    runs: int = 0
    notes: str = ""

    def value_text(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.unit in ("%", "x"):
            return f"{value:.2f} {self.unit}" if self.unit == "x" else f"{value:+.1f} %"
        if abs(value) >= 100:
            return f"{value:,.0f} {self.unit}"
        if abs(value) >= 10:
            return f"{value:.1f} {self.unit}"
        return f"{value:.3g} {self.unit}"

    @property
    def verdict(self) -> str:
        return "—" if self.passed is None else ("pass" if self.passed else "**miss**")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually observed."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    return seconds * 1000.0


def rss_mb() -> float:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import PySide6
        from PySide6.QtCore import qVersion

        qt = f"Qt {qVersion()} (PySide6 {PySide6.__version__})"
    except ImportError:
        qt = "Qt not installed"
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += " + uncommitted changes" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "qt": qt,
        "os": platform.platform(),
        "commit": commit,
        "qpa": os.environ.get("QT_QPA_PLATFORM", ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def print_rows(rows: Sequence[Row]) -> None:
    for row in rows:
        p95 = f"  p95 {row.value_text(row.p95)}" if row.p95 is not None else ""
        print(
            f"{row.verdict:>8}  {row.benchmark}: {row.value_text(row.median)}{p95}"
            f"  (target {row.target}; {row.runs} runs){'  ' + row.notes if row.notes else ''}"
        )


def finish(rows: Sequence[Row]) -> None:
    """Print the rows; write them as JSON when the script was given `--json FILE`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--json", type=Path)
    args, _ = parser.parse_known_args()
    print_rows(rows)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")


def check(value: float | None, limit: float) -> bool | None:
    return None if value is None or math.isnan(value) else value <= limit


# Qt probes -----------------------------------------------------------------------------
# Imported lazily so that the engine-only benchmarks never load Qt.


def qt_probes() -> tuple[type, type]:
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer

    class StallMonitor(QObject):
        """A 1 ms precise timer: the longest gap between two ticks is the longest stall."""

        def __init__(self) -> None:
            super().__init__()
            self.timer = QTimer(self)
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
            self.timer.setInterval(1)
            self.timer.timeout.connect(self._tick)
            self.gaps: list[float] = []
            self._last = 0.0

        def start(self) -> None:
            self.gaps = []
            self._last = time.perf_counter()
            self.timer.start()

        def _tick(self) -> None:
            now = time.perf_counter()
            self.gaps.append(now - self._last)
            self._last = now

        def stop(self) -> list[float]:
            self.timer.stop()
            self._tick()  # a stall still in progress at the end counts too
            return [ms(g) for g in self.gaps]

    class PaintProbe(QObject):
        """Calls `callback(perf_counter())` when `widget` is about to paint."""

        def __init__(self, widget: object, callback: Callable[[float], None]) -> None:
            super().__init__()
            self.callback = callback
            self.widget = widget
            widget.installEventFilter(self)  # type: ignore[attr-defined]

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.callback(time.perf_counter())
            return False

        def remove(self) -> None:
            self.widget.removeEventFilter(self)  # type: ignore[attr-defined]

    return StallMonitor, PaintProbe


def paint_watcher(callback: Callable[[object, float], None]) -> object:
    """An application-wide filter calling `callback(widget, perf_counter())` at every paint.

    Keep the returned object alive; call its `remove()` when done.
    """
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    class PaintWatcher(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and obj.isWidgetType():
                callback(obj, time.perf_counter())
            return False

        def remove(self) -> None:
            QApplication.instance().removeEventFilter(self)

    watcher = PaintWatcher()
    QApplication.instance().installEventFilter(watcher)
    return watcher


def run_qasync(make_coro: Callable[[], object]) -> object:
    """Run a coroutine on a qasync loop over the QApplication, as the app does."""
    import asyncio

    from PySide6.QtWidgets import QApplication

    from desktop_chat.ui.event_loop import AppEventLoop

    protect_singletons()
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(make_coro())  # type: ignore[arg-type]
    finally:
        loop.close()


async def wait_async(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    import asyncio

    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


def busy_stall_row(label: str, busy: list[dict[str, float]], more: str) -> Row:
    """The row of a streaming stall figure measured with one core kept busy (CpuHog)."""
    stall = median([r["stall"] for r in busy])
    return Row(
        f"{label}, one core kept busy: longest event-loop stall",
        "≤ 16 ms",
        stall,
        "ms",
        None,
        check(stall, 16),
        len(busy),
        f"another process busy-looping all along; worst run "
        f"{max(r['stall'] for r in busy):.0f} ms; "
        f"{median([r['stalls_over_16'] for r in busy]):.0f} stalls over 16 ms per run; "
        f"latency p99 {median([r['lat_p99'] for r in busy]):.0f} ms; {more}",
    )


async def idle_stall(seconds: float) -> float:
    """The longest gap of the 1 ms timer over `seconds` with nothing else to do: what the
    machine alone (its scheduler, other programs, a CpuHog) costs this event loop, the
    floor under a stall measured beside it."""
    StallMonitor, _ = qt_probes()
    monitor = StallMonitor()
    monitor.start()
    await wait_async(lambda: False, seconds)
    return max(monitor.stop())


class OpenWindow:
    """`async with OpenWindow(home) as (core, window):` the real core and main window."""

    def __init__(self, home: Path, size: tuple[int, int] = (1180, 760)) -> None:
        self.home = home
        self.size = size

    async def __aenter__(self) -> tuple[object, object]:
        from desktop_chat.app import Core
        from desktop_chat.paths import default_paths
        from desktop_chat.ui.window_factory import open_window

        os.environ["DESKTOP_CHAT_HOME"] = str(self.home)
        self.core = await Core.open(default_paths())
        # Built as the app builds it, SDK warm-up included: a person takes longer than
        # that to type a first message, so the measured sends do not wait for it.
        self.opened = await open_window(self.core)
        window = self.opened.window
        window.resize(*self.size)
        await wait_async(lambda: window.session.current is not None, 30)
        # As the app does once started, and again once the warm-ups (the SDK's import)
        # are done (desktop_chat/ui/main.py): without the second, every full collection
        # walks the SDK's types, 12-28 ms pauses while scrolling.
        gc.freeze()
        self.freeze_after_warm_up = asyncio.ensure_future(self._freeze_after_warm_up())
        return self.core, window

    async def _freeze_after_warm_up(self) -> None:
        await self.opened.warmed.wait()
        gc.freeze()

    async def __aexit__(self, *exc_info: object) -> None:
        self.freeze_after_warm_up.cancel()
        await self.opened.aclose(close_core=True)
        self.opened.window.deleteLater()


def wait_qt(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Run the Qt event loop (idle waits sleep, as in the app) until `condition()` holds."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    if condition():
        return True
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout
    poll = QTimer()
    poll.setTimerType(Qt.TimerType.PreciseTimer)
    poll.setInterval(2)
    poll.timeout.connect(
        lambda: loop.quit() if condition() or time.perf_counter() > deadline else None
    )
    poll.start()
    loop.exec()
    poll.stop()
    return condition()


def pause_qt(seconds: float) -> None:
    """Let the Qt event loop run for `seconds`."""
    end = time.perf_counter() + seconds
    wait_qt(lambda: time.perf_counter() >= end, seconds + 1)


def die_with_parent() -> None:
    """In the child: get SIGTERM when the benchmark process dies, even if it aborts."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_fake_server(
    tokens: Sequence[str], delay: float = 0.0, workdir: Path | None = None
) -> tuple[subprocess.Popen[str], str]:
    """The test suite's fake OpenAI server in its own process (its own GIL and core)."""
    import atexit
    import shutil
    import tempfile

    folder = workdir or Path(tempfile.mkdtemp(prefix="desktop_chat_bench_fake_"))
    if workdir is None:
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    tokens_file = folder / "tokens.json"
    tokens_file.write_text(json.dumps(list(tokens)), encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_openai",
            "--port",
            "0",
            "--delay",
            str(delay),
            "--tokens-file",
            str(tokens_file),
        ],
        cwd=str(REPO),
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http"):
        process.kill()
        raise RuntimeError("the fake OpenAI server did not start")
    return process, base_url


class CpuHog:
    """`with CpuHog():` one other process keeps a core busy, as another program would.

    A plain Python busy loop in its own process (so its own interpreter lock): on a
    2-core machine the measured process and its helpers share the other core with it.
    """

    def __enter__(self) -> CpuHog:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "while True: pass"],
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.process.kill()
        self.process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
