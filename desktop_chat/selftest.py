"""`desktop-chat --self-test`: prove that this installation works, without touching user data.

A bundle can build fine and still be broken at run time: a backend module PyInstaller did
not see, a missing resource, an SQLite without FTS5. This check runs the real path a
message takes — database, engine, streaming client, storage, search — end to end, in a
temporary folder and against a tiny OpenAI-compatible server started in this process, so it
needs no network, no API key and no model. It never imports Qt (it must run on a machine
without a display) and it never reads or writes the user's folders or keyring.

The server lives here rather than in `tests/` because the tests are not shipped in the
bundle, and the whole point is to run inside the bundle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop_chat import __version__

log = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds for the whole check; a healthy run takes well under one
MODEL = "selftest-model"
KEYRING_PROBE_TIMEOUT = 5.0  # a keyring on D-Bus may hang; the check must not


class SelfTestError(Exception):
    """One failed step, told as a sentence the user can act on or report."""


# The tiny server ---------------------------------------------------------------------------


class TinyOpenAI:
    """Just enough of the chat-completions protocol for one streamed reply.

    HTTP/1.1 with keep-alive, `GET /v1/models`, and `POST /v1/chat/completions` answered as
    Server-Sent Events over chunked transfer encoding, the way OpenAI answers. The reply
    echoes the nonce of the last user message, so the check knows the request arrived intact.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @staticmethod
    def reply_tokens(question: str) -> list[str]:
        nonce = question.rsplit(" ", 1)[-1]
        return ["Self-test ", "reply ", nonce, "."]

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the self-test server is not running")
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._writers):
            writer.close()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the client went away or spoke nonsense; either way this connection is done
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the client closed the connection."""
        request_line = await reader.readline()
        if not request_line:
            return False
        method, target, _ = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        raw = await reader.readexactly(length) if length else b""
        body: dict[str, Any] = json.loads(raw) if raw else {}
        path = target.split("?", 1)[0]
        self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
        if method == "GET" and path == "/v1/models":
            models = [{"id": MODEL, "object": "model", "created": 0, "owned_by": "selftest"}]
            await self._json(writer, 200, {"object": "list", "data": models})
        elif method == "POST" and path == "/v1/chat/completions" and body.get("stream"):
            await self._stream(writer, body)
        else:
            error = {"message": f"{method} {path} is not served here", "type": "invalid_request"}
            await self._json(writer, 404, {"error": {**error, "code": None, "param": None}})
        return True

    @staticmethod
    async def _json(writer: asyncio.StreamWriter, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        reason = "OK" if status == 200 else "Not Found"
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        question = next(
            (str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        tokens = self.reply_tokens(question)
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", MODEL),
        }
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        deltas: list[dict[str, Any]] = [{"content": token} for token in tokens]
        deltas[0] = {"role": "assistant", **deltas[0]}
        for delta in deltas:
            choice = {"index": 0, "delta": delta, "finish_reason": None}
            await self._event(writer, json.dumps({**base, "choices": [choice]}))
        finish = {"index": 0, "delta": {}, "finish_reason": "stop"}
        await self._event(writer, json.dumps({**base, "choices": [finish]}))
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": len(tokens),
                "total_tokens": prompt + len(tokens),
            }
            await self._event(writer, json.dumps({**base, "choices": [], "usage": usage}))
        await self._event(writer, "[DONE]")
        writer.write(b"0\r\n\r\n")  # the last chunk of the chunked body
        await writer.drain()

    @staticmethod
    async def _event(writer: asyncio.StreamWriter, data: str) -> None:
        """One SSE event as one HTTP chunk, so the client sees it at once."""
        payload = f"data: {data}\n\n".encode()
        writer.write(b"%X\r\n%s\r\n" % (len(payload), payload))
        await writer.drain()


# The checks --------------------------------------------------------------------------------


class _Report:
    """Prints one aligned line per check as it passes, so a hang shows where it stopped."""

    def line(self, name: str, detail: str) -> None:
        print(f"  {name + ':':<12} {detail}", flush=True)


def _frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def _resource_root() -> Path:
    """The resources folder, found as the window finds it, without importing Qt."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    here = Path(__file__).resolve().parent
    packaged = here / "resources"
    return packaged if packaged.is_dir() else here.parent / "resources"


RESOURCES = (
    ("the icon", "icons/desktop_chat.svg"),
    ("the Chinese translation", "translations/desktop_chat_zh_CN.qm"),
    ("the web page", "web/index.html"),
)


def _check_resources(report: _Report) -> None:
    """Missing resources break a bundle; from a bare pip install they are only a warning."""
    root = _resource_root()
    missing = [name for name, relative in RESOURCES if not (root / relative).is_file()]
    if not missing:
        report.line("resources", f"ok ({root})")
        return
    text = f"{', '.join(missing)} missing from {root}"
    if _frozen():
        raise SelfTestError(f"the bundle is incomplete: {text}. Rebuild it with build.spec.")
    report.line("resources", f"warning: {text} (the window works without them)")


def _sqlite_features() -> str:
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        return f"SQLite {sqlite3.sqlite_version}, no FTS5: search will not work"
    finally:
        connection.close()
    return f"SQLite {sqlite3.sqlite_version} with FTS5"


def _proxy_hint() -> str:
    """Why a server on 127.0.0.1 may be unreachable: a proxy from the environment takes it.

    The HTTP client honours HTTP_PROXY and friends for every address, loopback included,
    so a local server (the test server here, or Ollama) needs NO_PROXY to be reached.
    """
    names = ("http_proxy", "https_proxy", "all_proxy")
    proxies = [n.upper() for n in names if os.environ.get(n) or os.environ.get(n.upper())]
    bypass = (os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or "").replace(" ", "")
    covered = {"*", "127.0.0.1", "localhost"} & set(bypass.split(","))
    if not proxies or covered:
        return ""
    return (
        f" {' and '.join(proxies)} is set, so requests to this computer go through the proxy:"
        " set NO_PROXY=localhost,127.0.0.1 for local servers."
    )


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Hold back a logger's warnings: the report says the same thing in its own words."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _probe_keyring() -> str:
    """Which keyring the app would use; informational, since a headless machine has none.

    It runs in a daemon thread with a deadline: a Secret Service that never answers over
    D-Bus must not hang the check, and a daemon thread does not hold the process at exit.
    """
    result: list[str] = []

    def probe() -> None:
        try:
            import keyring.backend

            from desktop_chat.secrets import SecretStore

            store = SecretStore()
            viable = sorted(
                f"{type(k).__module__.rsplit('.', 1)[-1]}.{type(k).__name__}"
                for k in keyring.backend.get_all_keyring()
            )
            state = "usable" if store.keyring_available else "none usable; keys are per session"
            result.append(f"{store.backend_name} ({state}; found: {', '.join(viable) or 'none'})")
        except Exception as exc:  # informational only: report, never fail the check
            result.append(f"could not be inspected ({type(exc).__name__})")

    with _quiet("desktop_chat.secrets"):
        thread = threading.Thread(target=probe, name="selftest-keyring", daemon=True)
        thread.start()
        thread.join(KEYRING_PROBE_TIMEOUT)
    return result[0] if result else f"no answer within {KEYRING_PROBE_TIMEOUT:g} s"


async def _check_engine(report: _Report, root: Path) -> None:
    """One message through the real engine to the tiny server, then read it back."""
    from desktop_chat.app import Core
    from desktop_chat.engine import EngineError
    from desktop_chat.engine.events import EngineEvent, ReplyDelta, ReplyDone, ReplyFailed
    from desktop_chat.llm import LLMError
    from desktop_chat.paths import AppPaths
    from desktop_chat.schemas import Agent, MessageStatus
    from desktop_chat.secrets import SecretStore
    from desktop_chat.settings import Settings, save_settings
    from desktop_chat.store import StoreError

    paths = AppPaths(data=root / "data", config=root / "config", logs=root / "logs").ensure()
    save_settings(paths.settings_file, Settings(auto_title=False))  # one request, no title call
    server = TinyOpenAI()
    await server.start()
    try:
        try:
            core = await Core.open(paths, SecretStore(use_keyring=False))
        except StoreError as exc:
            raise SelfTestError(f"the database could not be opened: {exc.user_message}") from None
        try:
            report.line("database", f"ok ({_sqlite_features()})")
            report.line("server", f"ok (a test server on {server.base_url})")
            service = core.service
            agent = await service.save_agent(
                Agent(name="Self-test", provider="custom", base_url=server.base_url, model=MODEL)
            )
            try:
                models = await service.list_models(agent)
            except LLMError as exc:
                hint = _proxy_hint()
                raise SelfTestError(f"listing models failed: {exc.user_message}{hint}") from None
            if models != [MODEL]:
                raise SelfTestError(f"the model list came back wrong: {models!r}")
            report.line("models", f"ok ({MODEL})")

            nonce = secrets.token_hex(4)
            conversation = await service.create_conversation(agent_id=agent.agent_id)
            loop = asyncio.get_running_loop()
            done: asyncio.Future[ReplyDone] = loop.create_future()
            deltas: list[str] = []
            errors: list[str] = []

            def on_event(event: EngineEvent) -> None:
                if isinstance(event, ReplyDelta):
                    deltas.append(event.text)
                elif isinstance(event, ReplyFailed):
                    errors.append(event.message)
                elif isinstance(event, ReplyDone) and not done.done():
                    done.set_result(event)

            unsubscribe = service.bus.subscribe(on_event, conversation.id)
            started = time.perf_counter()
            try:
                await service.send(conversation.id, f"Self-test question {nonce}")
                finished = await done
            except EngineError as exc:
                raise SelfTestError(f"the message was refused: {exc.user_message}") from None
            finally:
                unsubscribe()
            elapsed = (time.perf_counter() - started) * 1000
            expected = "".join(TinyOpenAI.reply_tokens(nonce))
            if finished.status is not MessageStatus.COMPLETE:
                reason = errors[0] if errors else f"it ended {finished.status.value}"
                raise SelfTestError(f"the reply did not complete: {reason}{_proxy_hint()}")
            if "".join(deltas) != expected:
                raise SelfTestError(f"the streamed text was {''.join(deltas)!r}, not {expected!r}")

            stored = await service.get_conversation(conversation.id)
            roles = [(m.role, m.status.value) for m in stored.messages]
            if roles != [("user", "complete"), ("assistant", "complete")]:
                raise SelfTestError(f"the conversation was stored as {roles!r}")
            reply = stored.messages[-1]
            if reply.content != expected:
                raise SelfTestError(f"the stored reply is {reply.content!r}, not {expected!r}")
            if reply.completion_tokens != len(TinyOpenAI.reply_tokens(nonce)):
                raise SelfTestError("the token usage the server sent was not stored")
            report.line(
                "reply",
                f"ok ({len(deltas)} chunks streamed and stored in {elapsed:.0f} ms)",
            )

            found = await service.list_conversations(query=nonce)
            if [c.id for c in found] != [conversation.id]:
                raise SelfTestError("searching for the stored message did not find it")
            report.line("search", "ok")
        finally:
            await core.aclose()
        leftovers = list(paths.journal.iterdir())
        if leftovers:
            raise SelfTestError("the crash journal was not cleared after a complete reply")
    finally:
        await server.stop()


async def self_test() -> int:
    """Run every check and print a short report; 0 when all pass, 1 with a sentence if not.

    Only `--self-test` calls this; it prints to stdout because its report is the product.
    """
    where = "bundle" if _frozen() else f"Python {sys.version.split()[0]}"
    print(f"desktop_chat {__version__} self-test ({where}, {sys.platform})", flush=True)
    report = _Report()
    try:
        _check_resources(report)
        with tempfile.TemporaryDirectory(prefix="desktop_chat-selftest-") as root:
            async with asyncio.timeout(TIMEOUT):
                await _check_engine(report, Path(root))
    except SelfTestError as exc:
        print(f"self-test FAILED: {exc}", flush=True)
        return 1
    except TimeoutError:
        print(f"self-test FAILED: it did not finish within {TIMEOUT:g} s.", flush=True)
        return 1
    except Exception as exc:
        log.exception("Self-test crashed")
        print(f"self-test FAILED: an unexpected {type(exc).__name__}: {exc}", flush=True)
        return 1
    report.line("keyring", _probe_keyring())
    print("self-test passed", flush=True)
    return 0
