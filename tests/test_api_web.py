"""The web page at `/`, driven in a headless Chromium over the DevTools protocol.

Runs only where Debian's `chromium` package is installed at /usr/bin/chromium; nothing is
downloaded. The browser talks to a real ApiServer, which streams replies from the fake
OpenAI server through the page's EventSource (opened with a stream ticket), and the page
is left to reconnect by itself when the server goes away and comes back on the same port.

The test waits on conditions only: DevTools answers, page loads (lifecycle events), and
conditions polled inside the page against a deadline. The browser runs in its own process
group with a fresh profile, and the whole group is killed afterwards, whatever happened.

Set DESKTOP_CHAT_WEB_SCREENSHOT=docs/screenshots/web-page.png to refresh the screenshot
of the page used in the documentation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from desktop_chat.app import Core
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog
from tests.test_api_support import Api, running_api

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]
VIEWPORT = {"width": 1100, "height": 680}
SCREENSHOT_ENV = "DESKTOP_CHAT_WEB_SCREENSHOT"

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium); "
        "browsers are never downloaded by the tests",
    ),
]


# The DevTools protocol ---------------------------------------------------------------------


class DevToolsError(AssertionError):
    """The browser answered a DevTools command with an error (its message is kept)."""


CLOSED = "the browser closed the DevTools connection"


class DevTools:
    """One DevTools websocket: answers matched to commands by id, events kept in order.

    A single reader task owns the socket, so an event that arrives while a command waits
    for its answer is recorded, not lost, and an error answer is raised with its message.
    """

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._arrived = asyncio.Event()
        self._closed = False
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.socket:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if "id" in data:
                    answer = self._answers.pop(data["id"], None)
                    if answer is not None and not answer.done():
                        answer.set_result(data)
                    continue
                method, params = data.get("method", ""), data.get("params", {})
                self.events.append((method, params))
                for listener in self.listeners:
                    listener(method, params)
                self._arrived.set()
        finally:
            self._closed = True
            self._arrived.set()
            for answer in self._answers.values():  # each one is awaited by its send()
                if not answer.done():
                    answer.set_exception(DevToolsError(CLOSED))

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.socket.close()

    async def send(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The result of one command; DevToolsError with the browser's message if it failed."""
        if self._closed:
            raise DevToolsError(f"{method}: {CLOSED}")
        message_id = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[message_id] = answer
        command = {"id": message_id, "method": method, "params": params or {}}
        try:
            await self.socket.send_json(command)
            async with asyncio.timeout(timeout):
                data = await answer
        finally:
            self._answers.pop(message_id, None)
        if "error" in data:
            error = data["error"]
            detail = f" ({error['data']})" if error.get("data") else ""
            raise DevToolsError(
                f"{method} failed: {error.get('message')}{detail} [code {error.get('code')}]"
            )
        return data.get("result", {})

    async def event(
        self,
        method: str,
        matches: Callable[[dict[str, Any]], bool] = lambda _: True,
        *,
        since: int = 0,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The first `method` event at or after index `since` of `events` that `matches`."""
        index = since
        async with asyncio.timeout(timeout):
            while True:
                for name, params in self.events[index:]:
                    if name == method and matches(params):
                        return params
                index = len(self.events)
                if self._closed:
                    raise DevToolsError(f"{CLOSED} before {method}")
                self._arrived.clear()
                await self._arrived.wait()


def describe_exception(details: dict[str, Any]) -> str:
    exception = details.get("exception") or {}
    return str(exception.get("description") or exception.get("value") or details.get("text"))


class Page:
    """One tab: navigate, evaluate JavaScript, wait for conditions, take screenshots.

    Uncaught exceptions and console errors of the page are collected in `errors`.
    """

    def __init__(self, devtools: DevTools) -> None:
        self.devtools = devtools
        self.errors: list[str] = []
        devtools.listeners.append(self._on_event)

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.exceptionThrown":
            self.errors.append(describe_exception(params["exceptionDetails"]))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            args = params.get("args", [])
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in args))

    async def prepare(self) -> None:
        send = self.devtools.send
        await send("Page.enable")
        await send("Page.setLifecycleEventsEnabled", {"enabled": True})
        await send("Runtime.enable")
        await send("Network.enable")  # to see which URLs the page asks for
        await send(
            "Emulation.setDeviceMetricsOverride",
            {**VIEWPORT, "deviceScaleFactor": 1, "mobile": False},
        )
        await send(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "light"}]},
        )

    async def goto(self, url: str, timeout: float = 15.0) -> None:
        """Open `url` and return once its load event fired (scripts have run by then)."""
        since = len(self.devtools.events)
        result = await self.devtools.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise AssertionError(f"could not open {url}: {result['errorText']}")
        loader = result.get("loaderId")
        assert loader, f"{url} did not load a new document"
        await self.devtools.event(
            "Page.lifecycleEvent",
            lambda p: p.get("name") == "load" and p.get("loaderId") == loader,
            since=since,
            timeout=timeout,
        )

    async def evaluate(self, expression: str, timeout: float = 10.0) -> Any:
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        result = await self.devtools.send("Runtime.evaluate", params, timeout)
        if "exceptionDetails" in result:
            problem = describe_exception(result["exceptionDetails"])
            snapshot = await self.snapshot()
            raise AssertionError(f"{expression!r} failed in the page: {problem}\n{snapshot}")
        return result["result"].get("value")

    async def snapshot(self) -> str:
        """What the page shows, for failure messages."""
        params = {
            "expression": "JSON.stringify({status: document.getElementById('status').textContent,"
            " error: document.getElementById('error').textContent,"
            " login: document.getElementById('login-error').textContent,"
            " messages: [...document.querySelectorAll('.message')].map(m => m.className + ': '"
            " + m.textContent)})",
            "returnByValue": True,
        }
        try:
            result = await self.devtools.send("Runtime.evaluate", params)
        except DevToolsError as exc:
            return f"(no snapshot: {exc})"
        return f"page: {result['result'].get('value')}; page errors: {self.errors}"

    async def wait_for(self, condition: str, timeout: float = 10.0) -> None:
        """Resolve once `condition` (JavaScript) is true in the page, re-checked every 20 ms."""
        script = f"""new Promise((resolve, reject) => {{
            const started = performance.now();
            (function check() {{
                let ok = false;
                try {{ ok = Boolean({condition}); }} catch (error) {{}}
                if (ok) return resolve(true);
                if (performance.now() - started > {timeout * 1000}) {{
                    return reject(new Error("timed out waiting for: " + {json.dumps(condition)}));
                }}
                setTimeout(check, 20);
            }})();
        }})"""
        await self.evaluate(script, timeout + 5)

    async def click(self, selector: str) -> None:
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    async def fill(self, selector: str, value: str) -> None:
        element = f"document.querySelector({json.dumps(selector)})"
        await self.evaluate(f"{element}.value = {json.dumps(value)}")

    async def screenshot(self, path: Path) -> None:
        result = await self.devtools.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(result["data"]))


async def _devtools_url(stderr: asyncio.StreamReader, lines: deque[str]) -> str:
    """The browser's DevTools endpoint, from its "DevTools listening on ws://…" line."""
    while True:
        raw = await stderr.readline()
        if not raw:
            raise AssertionError("chromium exited before opening DevTools:\n" + "".join(lines))
        line = raw.decode(errors="replace")
        lines.append(line)
        if line.startswith("DevTools listening on "):
            return line.removeprefix("DevTools listening on ").strip()


async def _drain(stderr: asyncio.StreamReader, lines: deque[str]) -> None:
    """Keep reading Chromium's stderr, or a full pipe would block the browser."""
    while raw := await stderr.readline():
        lines.append(raw.decode(errors="replace"))


def _kill_leftovers(root: Path) -> None:
    """Kill what is left of the browser: any process naming our temporary folder.

    The crash handler runs in a session of its own, out of reach of the group kill; it
    names its database, which is under `root` since HOME points there.
    """
    marker = str(root).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in command:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


@asynccontextmanager
async def open_browser() -> AsyncIterator[Page]:
    """A headless Chromium with a fresh profile and one blank tab, killed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="desktop-chat-chromium-"))
    # Everything the browser writes (profile, caches, crash reports) stays in `root`.
    env = {**os.environ, "HOME": str(root), "XDG_CONFIG_HOME": str(root / "config"),
           "XDG_CACHE_HOME": str(root / "cache")}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM), *FLAGS, f"--user-data-dir={root / 'profile'}", "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: renderers die with it
    )  # fmt: skip
    lines: deque[str] = deque(maxlen=50)
    drain: asyncio.Task[None] | None = None
    try:
        assert process.stderr is not None
        async with asyncio.timeout(30):
            browser_url = await _devtools_url(process.stderr, lines)
        address = browser_url.removeprefix("ws://").split("/", 1)[0]
        drain = asyncio.create_task(_drain(process.stderr, lines))
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(browser_url, max_msg_size=0) as ws:
                browser = DevTools(ws)
                try:
                    created = await browser.send("Target.createTarget", {"url": "about:blank"})
                finally:
                    await browser.close()
            page_url = f"ws://{address}/devtools/page/{created['targetId']}"
            async with session.ws_connect(page_url, max_msg_size=0) as ws:
                devtools = DevTools(ws)
                try:
                    page = Page(devtools)
                    await page.prepare()
                    yield page
                finally:
                    await devtools.close()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        _kill_leftovers(root)
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
        shutil.rmtree(root, ignore_errors=True)


# The page ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def words(text: str) -> list[str]:
    """A reply as the fake server streams it: word by word, spaces kept."""
    parts = text.split(" ")
    return [p + " " for p in parts[:-1]] + [parts[-1]]


APP_SHOWN = "!document.getElementById('app').hidden"
LOGIN_SHOWN = "!document.getElementById('login').hidden"
LIST = "[...document.querySelectorAll('#conversations li')].map(li => li.textContent)"
# A bubble's own text, without its status note (e.g. "stopped").
OWN_TEXT = (
    "(m => [...m.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join(''))"
)
MESSAGES = f"[...document.querySelectorAll('.message')].map({OWN_TEXT})"
PENDING = "document.querySelector('.message.assistant.pending')"
STATUS = "document.getElementById('status').textContent"
IDLE = f"{STATUS} === '' && !document.getElementById('send').disabled"


def reply_shown(text: str) -> str:
    """The page shows `text` as a finished (stored) reply and is ready for the next message."""
    return (
        f"[...document.querySelectorAll('.message.assistant:not(.pending)')].map({OWN_TEXT})"
        f".includes({json.dumps(text)}) && !{PENDING} && {IDLE}"
        " && document.getElementById('error').textContent === ''"
    )


async def send_from_page(page: Page, text: str) -> None:
    await page.wait_for(IDLE)
    await page.fill("#text", text)
    await page.click("#send")


async def stored_texts(core: Core, conversation_id: str) -> list[str]:
    detail = await core.service.get_conversation(conversation_id)
    return [m.content for m in detail.messages]


async def cut_the_stream(api: Api, page: Page) -> None:
    """Stop the server: the page's stream ends and the page notices it."""
    await api.server.stop()
    await page.wait_for(f"{STATUS} === 'reconnecting…'")


ANSWER = (
    "In WAL mode, SQLite appends changes to a separate write-ahead log, so readers keep "
    "reading the database while one writer works. A checkpoint later copies the log back "
    "into the main file."
)


async def test_the_page_logs_in_chats_streams_and_reconnects(
    core: Core, fake: FakeOpenAI, tmp_path: Path
) -> None:
    async with running_api(core, port=free_port(), heartbeat=1.0) as api:
        token = await api.token("alice")
        earlier = await api.conversation("alice", title="Earlier chat")
        await api.conversation("bob", title="Not yours")
        async with open_browser() as page:
            # A link may carry the token in its fragment, which never reaches the server.
            await page.goto(f"{api.base}/#token={token}")
            await page.wait_for(APP_SHOWN)
            assert await page.evaluate("location.hash") == "", "the token stayed in the URL"
            await page.wait_for(f"{LIST}.length === 1")
            assert await page.evaluate(LIST) == ["Earlier chat"], "bob's conversation showed"

            # Forgetting the token asks for one; a wrong one is refused, the right one works.
            await page.click("#logout")
            await page.wait_for(LOGIN_SHOWN)
            assert await page.evaluate("sessionStorage.length") == 0
            await page.fill("#token", "not-a-token")
            await page.click("#login button[type=submit]")
            await page.wait_for("document.getElementById('login-error').textContent !== ''")
            assert await page.evaluate(LOGIN_SHOWN)
            await page.fill("#token", token)
            await page.click("#login button[type=submit]")
            await page.wait_for(APP_SHOWN)
            assert await page.evaluate("document.getElementById('token').value") == ""
            await page.wait_for(f"{LIST}.length === 1")
            await page.wait_for("document.getElementById('agent').options.length === 1")

            # A new conversation, its first reply streamed through EventSource.
            await page.click("#new-conversation button")
            await page.wait_for(f"{LIST}.length === 2")
            await page.wait_for("!document.getElementById('text').disabled")
            (conversation,) = [
                c
                for c in await core.service.list_conversations(owner="token:alice")
                if c.id != earlier["id"]
            ]
            cid = conversation.id
            active = "document.querySelector('#conversations li.active')?.dataset.id"
            assert await page.evaluate(active) == cid

            fake.scenario = Scenario(tokens=words(ANSWER), delay=0.01)
            await send_from_page(page, "What does WAL mode do?")
            await page.wait_for(PENDING)  # the reply shows while it is being written
            await page.wait_for(reply_shown(ANSWER))
            assert await stored_texts(core, cid) == ["What does WAL mode do?", ANSWER]
            assert await page.evaluate(MESSAGES) == await stored_texts(core, cid)
            stream_requests = [r for r in fake.requests if r["body"].get("stream")]
            assert len(stream_requests) == 1

            # A rename reaches the page as a `title` event.
            renamed = await api.call("PATCH", f"/api/conversations/{cid}", {"title": "WAL mode"})
            assert renamed.status == 200, renamed.body
            await page.wait_for("document.getElementById('title').textContent === 'WAL mode'")
            await page.wait_for(f"{LIST}.includes('WAL mode')")

            shot = tmp_path / "web-page.png"
            await page.screenshot(shot)
            assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
            if os.environ.get(SCREENSHOT_ENV):
                shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])

            # The stream is cut in the middle of a long reply and the server is back at once:
            # the page resumes after its last event (the words written meanwhile are
            # replayed, none twice), follows the rest live, and stops it.
            second = "".join(f"part{i} " for i in range(200))  # 10 s unless stopped
            fake.scenario = Scenario(tokens=words(second.strip()), delay=0.05)
            log = EventLog(core.service, cid)
            await send_from_page(page, "Count slowly")
            await page.wait_for(f"{PENDING}?.textContent.includes('part3 ')")
            await cut_the_stream(api, page)
            await api.server.start()
            await page.wait_for(f"{STATUS} === '' && {PENDING}?.textContent.includes('part50 ')")
            shown = await page.evaluate(f"{PENDING}.textContent")
            assert second.startswith(shown), f"words lost or repeated: {shown!r}"
            await page.click("#stop")
            done = await log.done(cid)
            assert done.status == "stopped"
            stopped = (await stored_texts(core, cid))[-1]
            assert stopped.startswith(shown) and second.startswith(stopped)
            await page.wait_for(reply_shown(stopped))
            assert await page.evaluate(MESSAGES) == await stored_texts(core, cid)

            # Cut again, and this time the reply ends while the server is away: the page
            # gets the stored reply when it is back.
            third = " ".join(f"step{i}" for i in range(30))
            fake.scenario = Scenario(tokens=words(third), delay=0.02)
            await send_from_page(page, "Once more")
            await page.wait_for(f"{PENDING}?.textContent.includes('step2 ')")
            await cut_the_stream(api, page)
            await log.done(cid, count=2)
            await api.server.start()
            await page.wait_for(reply_shown(third), timeout=15)
            texts = await stored_texts(core, cid)
            assert texts[-2:] == ["Once more", third]
            assert await page.evaluate(MESSAGES) == texts
            log.unsubscribe()

            # Every stream was opened with a ticket, resumed ones after the last event seen,
            # and the token never appeared in any URL.
            sent = [
                p["request"] for m, p in page.devtools.events if m == "Network.requestWillBeSent"
            ]
            streams = [r["url"] for r in sent if "/stream?" in r["url"]]
            assert len(streams) >= 3 and all("?ticket=" in url for url in streams), streams
            assert sum("&last_event_id=" in url for url in streams) >= 2, streams
            assert not [r["url"] for r in sent if token in r["url"]]
            assert page.errors == [], page.errors
