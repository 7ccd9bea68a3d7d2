"""`desktop-chat ask` against simonw's `llm` and a stdlib floor client, on the same server.

Three clients, each a fresh process per run, as a user types them:

* desktop-chat: `desktop-chat ask "question"` in a new DESKTOP_CHAT_HOME holding one agent
  (added with `desktop-chat agents add`, no key) pointed at the server; it stores the
  conversation in its SQLite database.
* llm: simonw's `llm` (PyPI `llm`, never a dependency of this project), installed by this
  benchmark into a throwaway virtual environment in the temporary folder (kept there for
  later runs), with the server as an `extra-openai-models.yaml` model; it logs the
  exchange to its own SQLite database, and reads its key from OPENAI_API_KEY.
* floor (bench/_floor_client.py): the stdlib alone: one POST, one `json.loads` per event,
  each token flushed to stdout, both messages stored in SQLite.
* SDK floor (bench/_sdk_floor_client.py), in the one-sentence rounds only: the libraries
  under desktop-chat's first byte and none of its code: aiohttp imported, the openai SDK
  streaming the question, both messages stored in SQLite. desktop-chat's first byte
  cannot come before it.

All three get the same fresh HOME (no keyring configured: whatever the machine's keyring
detection costs, each client pays), and talk to the test suite's fake OpenAI server
(tests/fake_openai.py), each scenario in its own process.

* One sentence: a question answered with one 14-token sentence. Runs are paired: each round
  runs every client once, in an order that rotates from round to round; the figure is the
  median over rounds of desktop-chat's wall time divided by llm's in the same round
  (launch to exit, the process's stdout a pipe read as it comes), and the same for the time
  to the first byte of the reply on stdout.
* Per token: the CPU time (user + system, from wait4) of a 100,000-token reply minus that
  of a 1-token reply, divided by 99,999: the marginal cost of one streamed token, against
  the floor client's in the same runs; stdout goes to /dev/null.

Bytecode is written (PYTHONDONTWRITEBYTECODE, set on some machines, is dropped) and the
warm-up run writes it, so every client loads compiled modules, as installed copies do.
The machine's load average is recorded at the start and at the end.

    python bench/bench_cli.py [--rounds 9] [--long-runs 3] [--tokens 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH, Row, finish, start_fake_server, stop_process
from dataset import long_reply_tokens, tokenize

SENTENCE = "WAL lets readers keep reading while a single writer appends to the log."
QUESTION = "Explain WAL mode in SQLite in one sentence"
LLM_VENV = Path(tempfile.gettempdir()) / "desktop_chat_bench" / "llm-venv"
CLIENTS = ("desktop-chat", "llm", "floor")
SENTENCE_CLIENTS = (*CLIENTS, "SDK floor")


def llm_bin() -> Path:
    """The `llm` command of the throwaway environment, installed on first use."""
    exe = LLM_VENV / "bin" / "llm"
    if not exe.exists():
        print("installing llm into a throwaway environment (kept for later runs)…", flush=True)
        shutil.rmtree(LLM_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(LLM_VENV)], check=True)
        subprocess.run(
            [str(LLM_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "llm"], check=True
        )
    return exe


class Clients:
    """The three commands, each with its own home, for one server."""

    def __init__(self, base_url: str, root: Path) -> None:
        self.root = root
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DESKTOP_CHAT_", "LLM_", "OPENAI_", "PYTHON_KEYRING"))
            # Written bytecode, as an installed copy has: pip compiled llm's at install,
            # while this checkout's editable install would compile every module each run.
            and k != "PYTHONDONTWRITEBYTECODE"
        }
        self.env.update(HOME=str(root / "home"), PYTHONIOENCODING="utf-8")
        (root / "home").mkdir(parents=True, exist_ok=True)
        self.dc_env = {**self.env, "DESKTOP_CHAT_HOME": str(root / "desktop_chat")}
        desktop_chat = Path(sys.executable).with_name("desktop-chat")
        module = [sys.executable, "-m", "desktop_chat"]
        self.dc = [str(desktop_chat)] if desktop_chat.exists() else module
        add = ["agents", "add", "--name", "Fake", "--model", "fake-model", "--default"]
        subprocess.run(
            [*self.dc, *add, "--base-url", base_url],
            env=self.dc_env,
            check=True,
            capture_output=True,
        )
        llm_home = root / "llm"
        llm_home.mkdir()
        (llm_home / "extra-openai-models.yaml").write_text(
            f"- model_id: fake\n  model_name: fake-model\n  api_base: {base_url}\n",
            encoding="utf-8",
        )
        self.llm_env = {**self.env, "LLM_USER_PATH": str(llm_home), "OPENAI_API_KEY": "sk-bench"}
        self.llm = [str(llm_bin()), "-m", "fake"]
        self.floor = [sys.executable, str(BENCH / "_floor_client.py"), base_url, "fake-model"]
        self.floor.append(str(root / "floor.sqlite3"))
        self.sdk_floor = [sys.executable, str(BENCH / "_sdk_floor_client.py"), base_url]
        self.sdk_floor += ["fake-model", str(root / "sdk_floor.sqlite3")]

    def command(self, client: str, question: str) -> tuple[list[str], dict[str, str]]:
        if client == "desktop-chat":
            return [*self.dc, "ask", question], self.dc_env
        if client == "llm":
            return [*self.llm, question], self.llm_env
        if client == "SDK floor":
            return [*self.sdk_floor, question], self.env
        return [*self.floor, question], self.env


def run(argv: list[str], env: dict[str, str], capture: bool) -> tuple[float, float, float, str]:
    """(wall s, first byte s, CPU s, stdout) of one run of a command."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    first = float("nan")
    out = b""
    if capture:
        assert process.stdout is not None
        chunk = os.read(process.stdout.fileno(), 65536)
        first = time.perf_counter() - started
        out = chunk + process.stdout.read()
    err = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {process.returncode}: {err.decode()[-500:]}")
    return wall, first, usage.ru_utime + usage.ru_stime, out.decode("utf-8", "replace")


def one_sentence(rounds: int, root: Path) -> dict[str, list[tuple[float, float]]]:
    server, base_url = start_fake_server(tokenize(SENTENCE))
    try:
        clients = Clients(base_url, root / "sentence")
        for client in SENTENCE_CLIENTS:  # warm the disk cache: every client's files read once
            run(*clients.command(client, "warm up"), capture=True)
        results: dict[str, list[tuple[float, float]]] = {c: [] for c in SENTENCE_CLIENTS}
        for index in range(rounds):
            turn = index % len(SENTENCE_CLIENTS)
            order = SENTENCE_CLIENTS[turn:] + SENTENCE_CLIENTS[:turn]
            for client in order:
                wall, first, _, out = run(*clients.command(client, QUESTION), capture=True)
                if SENTENCE not in out:
                    raise RuntimeError(f"{client} printed {out[:200]!r}")
                results[client].append((wall, first))
        return results
    finally:
        stop_process(server)


def per_token(runs: int, tokens: int, root: Path) -> dict[str, tuple[float, float]]:
    """Each client's marginal CPU per token (median of runs) and its long reply's CPU."""
    long_server, long_url = start_fake_server(long_reply_tokens(tokens))
    short_server, short_url = start_fake_server(["Yes."])
    try:
        long_clients = Clients(long_url, root / "long")
        short_clients = Clients(short_url, root / "short")
        cpu: dict[str, list[tuple[float, float]]] = {c: [] for c in CLIENTS}
        for _ in range(runs):
            for client in CLIENTS:
                short = run(*short_clients.command(client, QUESTION), capture=False)[2]
                long = run(*long_clients.command(client, QUESTION), capture=False)[2]
                cpu[client].append((long - short, long))
        return {
            c: (
                statistics.median(d for d, _ in values) / (tokens - 1),
                statistics.median(v for _, v in values),
            )
            for c, values in cpu.items()
        }
    finally:
        stop_process(long_server)
        stop_process(short_server)


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--long-runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=100_000)
    args, _ = parser.parse_known_args()
    load_start = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="desktop_chat_bench_cli_"))
    try:
        llm_bin()
        short = one_sentence(args.rounds, root)
        tokens = per_token(args.long_runs, args.tokens, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load = f"load average {load_start:.2f} → {os.getloadavg()[0]:.2f}"

    def ratios(a: str, b: str, i: int) -> list[float]:
        return [x[i] / y[i] for x, y in zip(short[a], short[b], strict=True)]

    def med(client: str, i: int) -> float:
        return statistics.median(x[i] for x in short[client]) * 1000

    wall, first = ratios("desktop-chat", "llm", 0), ratios("desktop-chat", "llm", 1)
    per = {c: tokens[c][0] * 1e6 for c in CLIENTS}
    floor_ratio = per["desktop-chat"] / per["floor"]
    name = "CLI, one-sentence ask"
    rows = [
        Row(
            f"{name}: desktop-chat ÷ llm, wall time (paired)",
            "≤ 1.0",
            statistics.median(wall),
            "x",
            passed=statistics.median(wall) <= 1.0,
            runs=args.rounds,
            notes=f"medians: desktop-chat {med('desktop-chat', 0):.0f} ms, llm "
            f"{med('llm', 0):.0f} ms, floor {med('floor', 0):.0f} ms; ratios "
            + ", ".join(f"{r:.2f}" for r in wall)
            + f"; {load}",
        ),
        Row(
            f"{name}: desktop-chat ÷ llm, time to first byte (paired)",
            "≤ 1.0",
            statistics.median(first),
            "x",
            passed=statistics.median(first) <= 1.0,
            runs=args.rounds,
            notes=f"medians: desktop-chat {med('desktop-chat', 1):.0f} ms, llm "
            f"{med('llm', 1):.0f} ms, floor {med('floor', 1):.0f} ms; the SDK floor (aiohttp "
            f"and the openai SDK, none of desktop-chat's code) {med('SDK floor', 1):.0f} ms, "
            f"{statistics.median(ratios('SDK floor', 'llm', 1)):.2f} x llm",
        ),
        Row(
            f"CLI, CPU per streamed token ({args.tokens:,}-token reply minus a 1-token one): "
            "desktop-chat ÷ floor",
            "≤ 2.0",
            floor_ratio,
            "x",
            passed=floor_ratio <= 2.0,
            runs=args.long_runs,
            notes=f"per token: desktop-chat {per['desktop-chat']:.1f} µs, llm {per['llm']:.1f} µs, "
            f"floor {per['floor']:.1f} µs; whole {args.tokens:,}-token reply CPU: "
            + ", ".join(f"{c} {tokens[c][1]:.2f} s" for c in CLIENTS)
            + f"; {load}",
        ),
    ]
    return rows


if __name__ == "__main__":
    finish(main())
