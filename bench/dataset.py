"""Realistic data sets for the benchmarks, written into a real desktop_chat database.

The schema comes from the store itself (`open_repository` runs the real migrations), the
agent is saved through the repository, and conversations and messages go in with plain
SQL inserts in one transaction (the FTS triggers fire as they do in the app). Built data
sets are cached in the temporary folder, keyed by schema version and generator version,
and copied into a fresh DESKTOP_CHAT_HOME for each benchmark.

    python bench/dataset.py cold      # 1,000 conversations, 100,000 messages
    python bench/dataset.py large     # 10,000 conversations, 100,000 messages, one of 2,000
    python bench/dataset.py million   # 10,000 conversations, 1,000,000 messages, one of 2,000

The million is built in a few minutes (rows are generated as they are inserted, never held
in memory all at once) and cached like the others.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GENERATOR_VERSION = 4  # 4: conversations drawn before their messages (streamed inserts)
BRANCHES = 200  # replies of the long conversation with another version
CACHE = Path(tempfile.gettempdir()) / "desktop_chat_bench" / "cache"
PLACEHOLDER_URL = "http://127.0.0.1:9/v1"

KINDS = {
    # name: (conversations, messages, messages in the one long conversation)
    "cold": (1_000, 100_000, 0),
    "large": (10_000, 100_000, 2_000),
    "million": (10_000, 1_000_000, 2_000),
}

_COMMON_TEXT = """the of and to in is that for it as with was on be by this are or from at an but
not have you which one all were when we there can your if will each about how up out them
then she many some so these would other into has more her two like him see time could no
make than first been its who now people my made over did down only way find use may water
long little very after words called just where most know get through back much before go
good new write our used me man too any day same right look think also around another came
come work three word must because does part even place well such here take why things help
put years different away again off went old number great tell men say small every found
still between name should home big give air line set own under read last never us left end
along while might next sound below saw something thought both few those always looks show
large often together asked house world going want school important until form food keep
children feet land side without boy once animals life enough took sometimes four head above
kind began almost live page got earth need far hand high year mother light parts country
father let night following picture being study second eyes soon times story boys since white
days ever paper hard near sentence better best across during today others however sure means
knew its try told young miles sun ways thing whole hear example heard several change answer
room sea against top turned learn point city play toward five using himself usually"""
_TECH_TEXT = """database index query table schema migration transaction cache server client thread
loop event stream token model prompt context message request response latency memory python
rust javascript function class method variable array list dictionary string integer float
async await socket http json parser compiler runtime kernel process signal pointer buffer
queue stack heap garbage collector benchmark profile deploy container docker kubernetes
cluster replica shard partition consensus raft leader follower election timeout retry backoff
circuit breaker gateway proxy router endpoint header payload encoding utf unicode regex
pattern match iterator generator closure decorator coroutine future promise callback
mutex lock semaphore channel actor scheduler worker pool connection session cookie token
authentication authorization encryption hash signature certificate tls handshake cipher
vector embedding tensor gradient optimizer learning inference training dataset batch epoch
layer attention transformer sqlite postgres redis kafka nginx linux windows macos terminal
shell script git commit branch merge rebase conflict review test fixture mock assertion
coverage refactor interface abstract inheritance composition dependency injection module
package library framework component widget layout render paint frame pixel font theme"""

COMMON = _COMMON_TEXT.split()
TECH = _TECH_TEXT.split()

CHINESE = [
    "数据库索引可以显著加快查询速度。",
    "请解释一下事务的隔离级别有什么区别。",
    "在高并发场景下，连接池的大小应该如何设置？",
    "这个函数的时间复杂度是线性的。",
    "我们可以用缓存来减少对数据库的访问。",
    "模型的上下文长度决定了一次能处理多少内容。",
    "流式输出让用户更快看到第一个字。",
    "请帮我把这段代码改写成异步的版本。",
    "日志里不应该出现用户的密钥。",
    "全文检索对中文需要特别的分词处理。",
    "这个问题的根本原因是内存泄漏。",
    "测试覆盖率不是衡量质量的唯一标准。",
    "请用三句话总结这篇文章的要点。",
    "服务器返回了速率限制的错误，需要稍后重试。",
    "界面在滚动时不应该出现卡顿。",
]

CODE = {
    "python": [
        "import sqlite3",
        "def connect(path: str) -> sqlite3.Connection:",
        "    conn = sqlite3.connect(path)",
        "    conn.execute('PRAGMA journal_mode=WAL')",
        "    return conn",
        "for row in conn.execute('SELECT id, title FROM conversation'):",
        "    print(row)",
        "async def fetch(client, url):",
        "    response = await client.get(url, timeout=10)",
        "    response.raise_for_status()",
        "    return response.json()",
        "class Cache(dict):",
        "    def __missing__(self, key):",
        "        value = self[key] = compute(key)",
        "        return value",
    ],
    "javascript": [
        "const source = new EventSource('/v1/stream');",
        "source.onmessage = (event) => {",
        "  const data = JSON.parse(event.data);",
        "  render(data.text);",
        "};",
        "async function load(id) {",
        "  const res = await fetch(`/api/items/${id}`);",
        "  return res.json();",
        "}",
    ],
    "bash": [
        "python3 -m venv .venv && . .venv/bin/activate",
        "pip install -e '.[dev]'",
        "QT_QPA_PLATFORM=offscreen pytest -q",
        "sqlite3 conversations.sqlite3 'PRAGMA integrity_check'",
        "grep -rn 'TODO' src/ | wc -l",
    ],
    "sql": [
        "CREATE INDEX message_conversation ON message (conversation_id, position);",
        "SELECT c.id, COUNT(m.id) FROM conversation c",
        "LEFT JOIN message m ON m.conversation_id = c.id",
        "GROUP BY c.id ORDER BY c.updated_at DESC LIMIT 50;",
    ],
    "rust": [
        "fn main() -> Result<(), Box<dyn std::error::Error>> {",
        '    let text = std::fs::read_to_string("input.txt")?;',
        "    let words: Vec<&str> = text.split_whitespace().collect();",
        '    println!("{} words", words.len());',
        "    Ok(())",
        "}",
    ],
}

_WORDS = COMMON + TECH
_WEIGHTS = [1.0 / (rank + 8) for rank in range(len(_WORDS))]


class TextGen:
    """Chat-like text: short questions, and Markdown answers with lists and code."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def words(self, n: int) -> list[str]:
        return self.rng.choices(_WORDS, weights=_WEIGHTS, k=n)

    def sentence(self) -> str:
        words = self.words(self.rng.randint(6, 18))
        if self.rng.random() < 0.15:
            i = self.rng.randrange(len(words))
            words[i] = f"**{words[i]}**"
        if self.rng.random() < 0.15:
            i = self.rng.randrange(len(words))
            words[i] = f"`{words[i]}`"
        text = " ".join(words)
        return text[0].upper() + text[1:] + self.rng.choice(".....?!")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))

    def code(self) -> str:
        language = self.rng.choice(list(CODE))
        lines = CODE[language]
        start = self.rng.randrange(len(lines))
        body = [lines[(start + i) % len(lines)] for i in range(self.rng.randint(3, 10))]
        # Models usually name the language; about one block in ten comes without it.
        label = "" if self.rng.random() < 0.1 else language
        return f"```{label}\n" + "\n".join(body) + "\n```"

    def bullets(self) -> str:
        ordered = self.rng.random() < 0.4
        items = []
        for i in range(self.rng.randint(3, 6)):
            mark = f"{i + 1}." if ordered else "-"
            items.append(f"{mark} {' '.join(self.words(self.rng.randint(4, 12)))}")
        return "\n".join(items)

    def chinese(self, sentences: int) -> str:
        return "".join(self.rng.choice(CHINESE) for _ in range(sentences))

    def question(self) -> str:
        if self.rng.random() < 0.05:
            return self.chinese(self.rng.randint(1, 3))
        parts = [self.sentence() for _ in range(self.rng.randint(1, 3))]
        if self.rng.random() < 0.08:
            parts.append(self.code())
        return "\n\n".join(parts)

    def answer(self, blocks: int | None = None) -> str:
        if self.rng.random() < 0.05 and blocks is None:
            return "\n\n".join(self.chinese(self.rng.randint(2, 5)) for _ in range(3))
        parts = []
        for _ in range(blocks if blocks is not None else self.rng.randint(1, 4)):
            roll = self.rng.random()
            if roll < 0.08:
                parts.append("## " + " ".join(self.words(self.rng.randint(2, 5))).title())
            if roll < 0.3:
                parts.append(self.bullets())
            elif roll < 0.5:
                parts.append(self.code())
            parts.append(self.paragraph())
        return "\n\n".join(parts)


_TOKEN = re.compile(r"\n+| ?[A-Za-z]{1,6}| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]| +|.", re.DOTALL)


def tokenize(text: str) -> list[str]:
    """Split text roughly as a BPE tokenizer does (about 4 characters a token)."""
    tokens = _TOKEN.findall(text)
    assert "".join(tokens) == text
    return tokens


def long_reply_tokens(n_tokens: int = 20_000, seed: int = 11) -> list[str]:
    """A long Markdown reply (headings, prose, lists, code) cut into `n_tokens` tokens."""
    gen = TextGen(seed)
    tokens: list[str] = []
    section = 0
    while len(tokens) < n_tokens:
        section += 1
        part = f"## Part {section}: {' '.join(gen.words(3)).title()}\n\n" + gen.answer(5) + "\n\n"
        tokens.extend(tokenize(part))
    return tokens[:n_tokens]


def math_reply_tokens(n_tokens: int = 20_000, seed: int = 12) -> list[str]:
    """A math-heavy Markdown reply: every paragraph has inline formulas ($…$, \\(…\\)) and
    every section a displayed one ($$…$$, \\[…\\]), new formulas all along (no cache hits)."""
    gen = TextGen(seed)
    tokens: list[str] = []
    n = 0
    while len(tokens) < n_tokens:
        n += 1
        k = n % 7 + 2
        part = (
            f"## Part {n}: {' '.join(gen.words(3)).title()}\n\n"
            f"{gen.sentence()} Let $x_{{{n}}}^{k} + y_{{{n}}}^{k} = r^{k}$ and "
            f"\\(\\frac{{{n}}}{{{k}}}\\alpha\\) hold, so $e^{{i\\pi {n}}}$ costs $5 and $10. "
            f"{gen.sentence()}\n\n"
            f"$$\\int_0^{{{n}}} t^{{{k}}}\\,dt = \\frac{{{n}^{{{k + 1}}}}}{{{k + 1}}}$$\n\n"
            f"- {gen.sentence()} with $\\sqrt{{{n} + {k}}}$\n"
            f"- \\[\\sum_{{i=1}}^{{{n}}} i^{{{k}}}\\]\n\n"
        )
        tokens.extend(tokenize(part))
    return tokens[:n_tokens]


# Building --------------------------------------------------------------------------------


@dataclass
class DataSet:
    home: Path
    database: Path
    meta: dict[str, object]


def _fmt(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _counts(rng: random.Random, conversations: int, messages: int, long: int) -> list[int]:
    """Messages per conversation: even numbers (question + answer), summing to `messages`."""
    rest = messages - long
    others = conversations - (1 if long else 0)
    mean = rest / others
    counts = [max(2, 2 * round(rng.uniform(0.2, 1.8) * mean / 2)) for _ in range(others)]
    while sum(counts) != rest:  # nudge to the exact total
        i = rng.randrange(others)
        if sum(counts) > rest and counts[i] > 2:
            counts[i] -= 2 if sum(counts) - rest >= 2 else 1
        elif sum(counts) < rest:
            counts[i] += 2 if rest - sum(counts) >= 2 else 1
    return ([long] if long else []) + counts


def build(path: Path, conversations: int, messages: int, long: int, seed: int = 7) -> dict:
    """Write the data set: conversations first (their current leaf is known from the
    counts), then messages from a generator, so a million rows never sit in memory."""
    from desktop_chat.schemas import Agent
    from desktop_chat.store import open_repository

    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    repo = open_repository(path)
    agent = repo.agents.save(
        Agent(name="Bench", base_url=PLACEHOLDER_URL, model="fake-model", is_default=True)
    )
    gen = TextGen(seed)
    rng = random.Random(seed + 1)  # conversations; `gen` draws the messages' text
    counts = _counts(rng, conversations, messages, long)
    now = datetime.now(UTC)
    conn = repo.db.connection()
    # The long conversation is a tree: BRANCHES of its replies have an older version (a
    # regenerated answer), so opening it walks a path past other versions, as users' do.
    long_versions = set(rng.sample(range(2, long + 1, 2), BRANCHES)) if long else set()
    conversation_rows = []
    plans: list[tuple[int, int, datetime]] = []  # (index, count, first message's time)
    ids: list[str] = []
    last_id = 0
    for index, count in enumerate(counts, start=1):
        # The long conversation (index 1) is the most recent; the others spread over a year.
        age = timedelta(minutes=5) if index == 1 else timedelta(hours=rng.uniform(0.2, 24 * 400))
        last = now - age
        first = last - timedelta(minutes=count * 2)
        session_id = f"{index:08x}{rng.getrandbits(96):024x}"
        ids.append(session_id)
        pinned = 1 if rng.random() < 0.005 else 0
        title = "Long conversation" if index == 1 and long else " ".join(gen.words(4)).title()
        last_id += count + (len(long_versions) if index == 1 else 0)
        plans.append((index, count, first))
        conversation_rows.append(
            (index, session_id, agent.id, title, "local", pinned, None, "",
             _fmt(first), _fmt(last), last_id)
        )  # fmt: skip

    def message_rows() -> Iterator[tuple[object, ...]]:
        message_id = 0
        for index, count, first in plans:
            parent = None
            row = 0  # the position column: one per row, versions included
            for position in range(1, count + 1):
                user = position % 2 == 1
                stamp = _fmt(first + timedelta(minutes=2 * position))
                versions = 2 if index == 1 and position in long_versions else 1
                for _ in range(versions):  # the older version first: the path goes on from it
                    message_id += 1
                    row += 1
                    content = gen.question() if user else gen.answer()
                    yield (
                        message_id, index, row, parent, "user" if user else "assistant",
                        content, "", "complete", None,
                        None if user else rng.randint(20, 200),
                        None if user else rng.randint(50, 800),
                        None if user else "fake-model",
                        None if user else "stop",
                        None if user else rng.uniform(150, 900),
                        None if user else rng.uniform(800, 9000),
                        stamp,
                    )  # fmt: skip
                parent = message_id

    conn.execute("PRAGMA synchronous = OFF")  # a cache: a crash mid-build only rebuilds it
    conn.execute("PRAGMA cache_size = -200000")
    with repo.db.atomic():
        conn.executemany(
            "INSERT INTO conversation (id, session_id, agent_id, title, owner, pinned,"
            " preset_messages, draft, created_at, updated_at, current_message_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            conversation_rows,
        )
        conn.executemany(
            "INSERT INTO message (id, conversation_id, position, parent_id, role, content,"
            " reasoning, status, error, prompt_tokens, completion_tokens, model, finish_reason,"
            " ttft_ms, duration_ms, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            message_rows(),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    repo.db.close()
    return {
        "conversations": conversations,
        "messages": messages,
        "long_id": ids[0] if long else None,
        "newest_id": ids[0],
        "small_id": ids[min(range(1, len(counts)), key=lambda i: (counts[i] < 6, counts[i]))],
        "agent_id": agent.agent_id,
        "build_s": round(time.perf_counter() - started, 1),
        "bytes": path.stat().st_size,
    }


def cached(kind: str) -> tuple[Path, dict]:
    from desktop_chat.store.migrations import LATEST

    conversations, messages, long = KINDS[kind]
    folder = CACHE / f"{kind}-schema{LATEST}-gen{GENERATOR_VERSION}"
    database = folder / "conversations.sqlite3"
    meta_file = folder / "meta.json"
    if not meta_file.exists():
        # Other versions' folders stay: another checkout on this machine (a branch with
        # another schema or generator) may be using them right now. Each build writes a
        # folder of its own and renames it into place whole: two benchmarks starting at
        # once (or one killed mid-build) never write into, or leave, a half-built set.
        print(f"building the '{kind}' data set (cached for later runs)…", file=sys.stderr)
        building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        meta = build(building / database.name, conversations, messages, long)
        (building / meta_file.name).write_text(json.dumps(meta), encoding="utf-8")
        try:
            building.rename(folder)
        except OSError:
            if meta_file.exists():  # another process finished the same set first: use it
                shutil.rmtree(building, ignore_errors=True)
            else:  # a half-built set an interrupted build left behind
                shutil.rmtree(folder, ignore_errors=True)
                building.rename(folder)
    return database, json.loads(meta_file.read_text(encoding="utf-8"))


def fresh_home(kind: str, base_url: str | None = None) -> DataSet:
    """A new DESKTOP_CHAT_HOME holding a private copy of the cached data set.

    It is removed when this process exits.
    """
    database, meta = cached(kind)
    home = Path(tempfile.mkdtemp(prefix=f"desktop_chat_bench_{kind}_"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    target = home / "data" / database.name
    target.parent.mkdir(parents=True, mode=0o700)
    (home / "config").mkdir(mode=0o700)
    shutil.copyfile(database, target)
    target.chmod(0o600)
    if base_url is not None:
        import sqlite3

        with sqlite3.connect(target) as conn:
            conn.execute("UPDATE agent SET base_url = ?", (base_url,))
        conn.close()
    return DataSet(home=home, database=target, meta=meta)


def main() -> None:
    for kind in sys.argv[1:] or list(KINDS):
        database, meta = cached(kind)
        print(kind, database, json.dumps(meta))


if __name__ == "__main__":
    main()
