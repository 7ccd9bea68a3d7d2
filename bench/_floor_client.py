"""The floor for bench_cli.py: the least a streaming chat command can do, stdlib only.

One POST, one `json.loads` per SSE event, each token written and flushed to stdout as it
comes, then the question and the reply stored in SQLite in one transaction, as the
clients compared with it store theirs.

    python bench/_floor_client.py BASE_URL MODEL DATABASE "question"
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import sys
from urllib.parse import urlsplit


def main() -> int:
    base_url, model, database, question = sys.argv[1:5]
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80)
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": question}]}
    conn.request(
        "POST",
        url.path.rstrip("/") + "/chat/completions",
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": "Bearer floor"},
    )
    response = conn.getresponse()
    if response.status != 200:
        print(f"HTTP {response.status}", file=sys.stderr)
        return 1
    out = sys.stdout
    parts: list[str] = []
    for line in response.fp:
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            break
        choices = json.loads(data).get("choices")
        if choices:
            text = (choices[0].get("delta") or {}).get("content")
            if text:
                parts.append(text)
                out.write(text)
                out.flush()
    out.write("\n")
    store(database, question, "".join(parts))
    return 0


def store(database: str, question: str, reply: str) -> None:
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE IF NOT EXISTS message (role TEXT, content TEXT)")
        db.executemany(
            "INSERT INTO message VALUES (?, ?)", [("user", question), ("assistant", reply)]
        )


if __name__ == "__main__":
    sys.exit(main())
