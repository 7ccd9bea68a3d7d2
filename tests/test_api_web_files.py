"""The web page's files and tool calls, driven in a headless Chromium (see test_api_web.py).

Files are chosen the ways a user chooses them: through the page's file input (DevTools
sets its files, as a file dialog would), dropped on the page and pasted (DOM events
carrying a DataTransfer). What the fake upstream received is checked byte for byte, and
stored images must really be drawn (fetched with the token, shown through blob URLs).
"""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

from desktop_chat.app import Core
from desktop_chat.schemas import McpServer
from tests.attachment_files import png
from tests.fake_openai import FakeOpenAI, Scenario
from tests.test_api_support import Api, running_api
from tests.test_api_web import (
    APP_SHOWN,
    MESSAGES,
    Page,
    free_port,
    open_browser,
    pytestmark,  # noqa: F401  (the same skip and asyncio marks)
    reply_shown,
    send_from_page,
)

ROOT = Path(__file__).resolve().parent.parent
ERROR = "document.getElementById('error').textContent"
CHIPS = "[...document.querySelectorAll('#attachments li span')].map(s => s.textContent)"


async def open_conversation(page: Page, api: Api, token: str, cid: str) -> None:
    """Load the page afresh, log in (the token in the link's fragment), open `cid`."""
    await page.goto("about:blank")  # else a second visit would only change the fragment
    await page.goto(f"{api.base}/#token={token}")
    await page.wait_for(APP_SHOWN)
    item = f"document.querySelector('#conversations li[data-id={json.dumps(cid)}]')"
    await page.wait_for(item)
    await page.evaluate(f"{item}.click()")
    await page.wait_for("!document.getElementById('attach').disabled")


async def choose_files(page: Page, *paths: Path) -> None:
    """Set the files of the page's file input, as the file dialog opened by Attach does."""
    found = await page.devtools.send(
        "Runtime.evaluate", {"expression": "document.getElementById('files')"}
    )
    params = {"files": [str(p) for p in paths], "objectId": found["result"]["objectId"]}
    await page.devtools.send("DOM.setFileInputFiles", params)


async def press(page: Page, selector: str) -> None:
    """Click `selector` with the mouse, as a user does (a script's click() opens no tab)."""
    box = f"document.querySelector({json.dumps(selector)}).getBoundingClientRect()"
    x, y = await page.evaluate(f"(r => [r.x + r.width / 2, r.y + r.height / 2])({box})")
    for kind in ("mousePressed", "mouseReleased"):
        params = {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
        await page.devtools.send("Input.dispatchMouseEvent", params)


def carrying(event: str, name: str, data: bytes | int, mime: str) -> str:
    """JavaScript dispatching a `drop` (on the chat) or `paste` (in the input) of one file:
    `data`, or that many zero bytes (made in the page, not sent to it)."""
    if isinstance(data, int):
        content = f"new Uint8Array({data})"
    else:
        encoded = json.dumps(base64.b64encode(data).decode())
        content = f"Uint8Array.from(atob({encoded}), c => c.charCodeAt(0))"
    file = f"new File([{content}], {json.dumps(name)}, {{type: {json.dumps(mime)}}})"
    if event == "drop":
        target, make = ".chat", "new DragEvent('drop', {dataTransfer: data, bubbles: true})"
    else:
        target, make = "#text", "new ClipboardEvent('paste', {clipboardData: data, bubbles: true})"
    return f"""(() => {{
        const data = new DataTransfer();
        data.items.add({file});
        document.querySelector({json.dumps(target)}).dispatchEvent({make});
    }})()"""


def image_part(data: bytes) -> dict[str, object]:
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    return {"type": "image_url", "image_url": {"url": url}}


THUMBS = "[...document.querySelectorAll('.message.user .files .thumb img')]"
DRAWN = f"{THUMBS}.length === 2 && {THUMBS}.every(i => i.complete && i.naturalWidth > 0)"


async def test_files_are_attached_sent_and_shown(
    core: Core, fake: FakeOpenAI, tmp_path: Path
) -> None:
    red, blue = png(8, 6, "red"), png(5, 4, "blue")
    (tmp_path / "dot.png").write_bytes(red)
    (tmp_path / "notes.md").write_text("# Notes")
    (tmp_path / "extra.txt").write_text("not this one")
    async with running_api(core, port=free_port()) as api:
        token = await api.token("alice")
        cid = (await api.conversation("alice", title="Pictures"))["id"]
        other = (await api.conversation("alice", title="Other"))["id"]
        async with open_browser() as page:
            await open_conversation(page, api, token, cid)

            # Chosen through Attach's file dialog: chips with name and size, removable.
            await choose_files(page, tmp_path / "dot.png", tmp_path / "notes.md")
            await choose_files(page, tmp_path / "extra.txt")
            await page.wait_for(f"{CHIPS}.length === 3")
            assert await page.evaluate(CHIPS) == [
                f"dot.png · {len(red)} bytes", "notes.md · 7 bytes", "extra.txt · 12 bytes"
            ]  # fmt: skip
            await page.click("#attachments li:nth-child(3) button")
            await page.wait_for(f"{CHIPS}.length === 2")

            # A dropped file that would take the request past the API's 72 MiB for a
            # message's files is refused at once, with a sentence; a pasted image joins.
            await page.evaluate(carrying("drop", "big.txt", 57_000_000, "text/plain"))
            await page.wait_for(f"{ERROR} !== ''")
            assert await page.evaluate(ERROR) == (
                "big.txt cannot be attached: the files of one message can be about 54.0 MB "
                "together. Send the others in another message."
            )
            await page.evaluate(carrying("paste", "image.png", blue, "image/png"))
            await page.wait_for(f"{CHIPS}.length === 3")
            assert (await page.evaluate(CHIPS))[2] == f"image.png · {len(blue)} bytes"

            fake.scenario = Scenario(tokens=["Two", " squares."])
            await send_from_page(page, "What is on these?")
            await page.wait_for(reply_shown("Two squares."))
            sent = fake.requests[-1]["body"]["messages"][-1]["content"]
            assert sent == [
                {"type": "text", "text": "What is on these?"},
                image_part(red),
                {"type": "text", "text": "Attached file notes.md:\n\n# Notes"},
                image_part(blue),
            ]
            assert await page.evaluate(CHIPS) == []
            assert await page.evaluate("document.getElementById('attachments').hidden")

            # The stored message shows its images, fetched with the token, and its text file.
            await page.wait_for(DRAWN)
            sizes = await page.evaluate(f"{THUMBS}.map(i => [i.naturalWidth, i.naturalHeight])")
            assert sizes == [[8, 6], [5, 4]]
            links = "[...document.querySelectorAll('.message.user .files .file')]"
            assert await page.evaluate(f"{links}.map(a => a.textContent)") == ["notes.md · 7 bytes"]
            # Clicking a thumbnail opens the image in a tab of its own.
            await page.devtools.send("Target.setDiscoverTargets", {"discover": True})
            since = len(page.devtools.events)
            await press(page, ".message.user .files .thumb")
            source = await page.evaluate(f"{THUMBS}[0].src")
            assert source.startswith("blob:"), source
            opened = await page.devtools.event(
                "Target.targetInfoChanged", lambda p: p["targetInfo"]["url"] == source, since=since
            )
            await page.devtools.send(
                "Target.closeTarget", {"targetId": opened["targetInfo"]["targetId"]}
            )
            await page.devtools.send("Page.bringToFront")  # a page behind draws no frames

            # Clicking a file downloads it, under its own name.
            folder = tmp_path / "downloads"
            await page.devtools.send(
                "Browser.setDownloadBehavior",
                {"behavior": "allow", "downloadPath": str(folder), "eventsEnabled": True},
            )
            since = len(page.devtools.events)
            await page.click(".message.user .files .file")
            began = await page.devtools.event("Browser.downloadWillBegin", since=since)
            assert began["suggestedFilename"] == "notes.md"
            await page.devtools.event(
                "Browser.downloadProgress", lambda p: p["state"] == "completed", since=since
            )
            assert [p.read_text() for p in folder.iterdir()] == ["# Notes"]
            assert token not in await page.evaluate("document.documentElement.outerHTML")

            # Another conversation: the blob URLs of the first are revoked.
            await page.click(f"#conversations li[data-id={json.dumps(other)}]")
            await page.wait_for(f"{MESSAGES}.length === 0")
            gone = f"fetch({json.dumps(source)}).then(() => 'kept', () => 'revoked')"
            assert await page.evaluate(gone) == "revoked"

            # A page opened afresh draws the stored images too.
            await open_conversation(page, api, token, cid)
            await page.wait_for(DRAWN)

            # A file the API refuses: its sentence is shown as the page's errors are, and
            # the chosen files stay for another try. A message may be files alone.
            agent = await core.service.get_agent("Fake")
            await core.service.save_agent(agent.model_copy(update={"vision": False}))
            requests = len(fake.requests)
            await choose_files(page, tmp_path / "dot.png")
            await page.wait_for(f"{CHIPS}.length === 1")
            await send_from_page(page, "")
            await page.wait_for(f"{ERROR} !== ''")
            assert (await page.evaluate(ERROR)).startswith("Fake does not read images")
            assert await page.evaluate(CHIPS) == [f"dot.png · {len(red)} bytes"]
            assert len(fake.requests) == requests
            await core.service.save_agent(agent.model_copy(update={"vision": True}))
            fake.scenario = Scenario(tokens=["A red one."])
            await page.click("#send")
            await page.wait_for(reply_shown("A red one."))
            assert fake.requests[-1]["body"]["messages"][-1]["content"] == [image_part(red)]
            assert await page.evaluate(CHIPS) == []
            assert page.errors == [], page.errors


ARGS = '{"a": 4, "b": 5}'


def calling(call_id: str, arguments: str = ARGS) -> Scenario:
    """A model turn that calls the test server's `add` tool."""
    return Scenario(
        tokens=[], tool_calls=[{"id": call_id, "name": "calc__add", "arguments": arguments}]
    )


async def test_a_tool_call_is_shown_and_approved_in_the_page(core: Core, fake: FakeOpenAI) -> None:
    await core.tools.save_server(
        McpServer(
            name="calc", command=sys.executable, args=["-m", "tests.mcp_test_server"], cwd=str(ROOT)
        )
    )
    fake.queue = [
        calling("h1"),
        Scenario(tokens=["Nine."]),
    ]
    block = "document.querySelector('.tool-call[data-call-id=\"h1\"]')"
    summary = f"{block}?.querySelector('summary').textContent"
    sections = f"[...{block}.querySelectorAll('pre')].map(p => p.textContent)"
    async with running_api(core, port=free_port()) as api:
        token = await api.token("alice")
        cid = (await api.conversation("alice", title="Sums"))["id"]
        async with open_browser() as page:
            await open_conversation(page, api, token, cid)
            await send_from_page(page, "4+5?")

            # The call waits for a decision: the block shows it unfolded, with three choices.
            once = f"{block}?.querySelector('.approval button[data-decision=once]')"
            await page.wait_for(once, timeout=20)
            assert await page.evaluate(summary) == "Tool calc/add · waiting for your decision"
            assert await page.evaluate(f"{block}.querySelector('.approval p').textContent") == (
                "Let the MCP server calc run its tool add with these arguments?"
            )
            choices = f"[...{block}.querySelectorAll('.approval button')].map(b => b.textContent)"
            assert await page.evaluate(choices) == ["Run once", "Always run this tool", "Deny"]
            assert await page.evaluate(sections) == ['{\n  "a": 4,\n  "b": 5\n}']
            # The turn that made the call is stored, but the reply goes on: Stop, not Send.
            buttons = "['send', 'stop'].map(b => document.getElementById(b).disabled)"
            assert await page.evaluate(buttons) == [True, False]
            await page.evaluate(f"{once}.click()")

            # The result shows in the block; the tool's message is no bubble of its own.
            await page.wait_for(reply_shown("Nine."), timeout=20)
            assert re.fullmatch(r"Tool calc/add · done · \d+\.\d s", await page.evaluate(summary))
            assert await page.evaluate(sections) == ['{\n  "a": 4,\n  "b": 5\n}', "9"]
            assert await page.evaluate(f"{block}.querySelector('.approval')") is None
            assert await page.evaluate(MESSAGES) == ["4+5?", "Nine."]
            sent = fake.requests[-1]["body"]["messages"]
            assert sent[-1] == {"role": "tool", "content": "9", "tool_call_id": "h1"}

            # A call denied: the model is told, and the block shows the refusal as an error.
            fake.queue = [
                calling("h2", "{}"),
                Scenario(tokens=["Fine."]),
            ]
            await send_from_page(page, "Nothing?")
            deny = "document.querySelector('.tool-call[data-call-id=\"h2\"] [data-decision=deny]')"
            await page.wait_for(deny, timeout=20)
            await page.evaluate(f"{deny}.click()")
            await page.wait_for(reply_shown("Fine."), timeout=20)
            denied = "document.querySelector('.tool-call.failed[data-call-id=\"h2\"]')"
            assert "· error ·" in await page.evaluate(
                f"{denied}.querySelector('summary').textContent"
            )
            refusal = await page.evaluate(f"{denied}.querySelectorAll('pre')[1].textContent")
            assert "did not allow" in refusal
            assert fake.requests[-1]["body"]["messages"][-1]["content"] == refusal

            # Always: this call runs, and the next call of the tool runs without asking.
            fake.queue = [
                calling("h3"),
                Scenario(tokens=["Nine again."]),
                calling("h4"),
                Scenario(tokens=["And again."]),
            ]
            await send_from_page(page, "Again?")
            always = (
                "document.querySelector('.tool-call[data-call-id=\"h3\"] [data-decision=always]')"
            )
            await page.wait_for(always, timeout=20)
            await page.evaluate(f"{always}.click()")
            await page.wait_for(reply_shown("Nine again."), timeout=20)
            await send_from_page(page, "Once more?")
            await page.wait_for(reply_shown("And again."), timeout=20)
            untold = "document.querySelector('.tool-call[data-call-id=\"h4\"] summary').textContent"
            assert (await page.evaluate(untold)).startswith("Tool calc/add · done · ")
            assert await page.evaluate("document.querySelector('.approval')") is None

            # Opened afresh, the stored calls are drawn the same way, folded.
            await open_conversation(page, api, token, cid)
            await page.wait_for(f"{summary}?.startsWith('Tool calc/add · done')")
            assert await page.evaluate(f"{block}.querySelector('details').open") is False
            assert await page.evaluate(sections) == ['{\n  "a": 4,\n  "b": 5\n}', "9"]
            asked = ["4+5?", "Nine.", "Nothing?", "Fine.", "Again?", "Nine again."]
            assert await page.evaluate(MESSAGES) == [*asked, "Once more?", "And again."]
            assert (
                await page.evaluate(f"{denied}.querySelectorAll('pre')[1].textContent") == refusal
            )
            assert page.errors == [], page.errors
