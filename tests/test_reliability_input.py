"""Bad and unusual input: a 1 MB message, text that breaks naive code, bodies at and over the
size limit, and bodies that are not UTF-8.

Elsewhere: round trips of such text through the database, export and import
(test_transfer.py, test_json_round_trip_is_exact); malformed import files rejected whole
with the reason (test_transfer.py, test_a_bad_file_is_refused_whole; test_cli.py,
test_import_of_a_malformed_file_imports_nothing); oversize bodies without Content-Length
(test_api_security.py, test_a_body_over_the_limit_is_refused_with_413).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from desktop_chat.api.app import MAX_BODY
from desktop_chat.app import Core
from desktop_chat.engine import InputError
from desktop_chat.schemas import MAX_MESSAGE_CHARS, MessageStatus
from desktop_chat.transfer import export_json, export_markdown, parse_import
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog
from tests.test_api_support import Api, running_api
from tests.test_transfer import TRICKY

pytestmark = pytest.mark.asyncio

JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def api(core: Core) -> AsyncIterator[Api]:
    async with running_api(core, heartbeat=5) as running:
        yield running


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


# A one-megabyte message ------------------------------------------------------------------


async def test_a_message_of_the_full_million_characters_goes_through_byte_exact(
    core: Core, fake: FakeOpenAI
) -> None:
    unit = "Ab 你好 🙂 שלום\n"  # one, two, three and four UTF-8 bytes per character
    text = (unit * (MAX_MESSAGE_CHARS // len(unit) + 1))[:MAX_MESSAGE_CHARS]
    assert len(text) == MAX_MESSAGE_CHARS and len(utf8(text)) > 1_800_000
    conv = await core.service.create_conversation()
    log = EventLog(core.service, conv.id)

    await core.service.send(conv.id, text)
    assert (await log.done(conv.id)).status == "complete"

    user = (await core.service.get_conversation(conv.id)).messages[0]
    assert utf8(user.content) == utf8(text)
    assert utf8(fake.requests[-1]["body"]["messages"][-1]["content"]) == utf8(text)
    with pytest.raises(InputError) as caught:
        await core.service.send(conv.id, text + "!")
    assert caught.value.user_message == (
        "The message is too long (1,000,001 characters; the limit is 1,000,000). "
        "Attach less text or split it."
    )
    assert len((await core.service.get_conversation(conv.id)).messages) == 2


async def test_a_million_characters_through_the_api_whatever_their_script(api: Api) -> None:
    cid = (await api.conversation())["id"]
    ascii_text = "x" * MAX_MESSAGE_CHARS
    sent = await api.call("POST", f"/api/conversations/{cid}/messages", {"text": ascii_text})
    assert sent.status == 202, sent.body
    assert sent.body["message"]["content"] == ascii_text

    # A million Chinese characters are 3 MB of UTF-8, over the ordinary body limit: the
    # messages route takes what the window takes (its limit is the one for files).
    other = (await api.conversation())["id"]
    wide_text = "中" * MAX_MESSAGE_CHARS
    wide = json.dumps({"text": wide_text}, ensure_ascii=False).encode()
    assert len(wide) > MAX_BODY
    sent = await api.call("POST", f"/api/conversations/{other}/messages", data=wide, headers=JSON)
    assert sent.status == 202, sent.body
    assert sent.body["message"]["content"] == wide_text


# Text that breaks naive code, end to end through the API ---------------------------------


def _split_awkwardly(text: str) -> list[str]:
    """Pieces cut between every code point: inside emoji sequences, before combining marks."""
    return [text[i : i + 2] for i in range(0, len(text), 2)]


async def test_emoji_cjk_and_right_to_left_text_stay_byte_exact_through_the_api(
    api: Api, core: Core, fake: FakeOpenAI
) -> None:
    title = "Ünïcödé 🧪 مرحبا 你好"
    preset = [{"role": "system", "content": TRICKY[2][1]}]
    history = [{"role": role, "content": content} for role, content in TRICKY[:2]]
    reply = TRICKY[3][1] + TRICKY[4][1]
    question = TRICKY[0][1] + " / " + TRICKY[2][1]
    fake.scenario = Scenario(tokens=_split_awkwardly(reply))

    raw = json.dumps(
        {"title": title, "context": {"preset": preset, "history": history}}, ensure_ascii=False
    ).encode()
    created = await api.call("POST", "/api/conversations", data=raw, headers=JSON)
    assert created.status == 201, created.body
    cid = created.body["id"]
    async with api.stream(cid) as stream:
        escaped = json.dumps({"text": question}).encode()  # \\uXXXX escapes this time
        sent = await api.call(
            "POST", f"/api/conversations/{cid}/messages", data=escaped, headers=JSON
        )
        assert sent.status == 202, sent.body
        events = await stream.until("done")

    streamed = "".join(e.data["text"] for e in events if e.type == "delta")
    assert utf8(streamed) == utf8(reply)
    detail = (await api.call("GET", f"/api/conversations/{cid}")).body
    assert utf8(detail["title"]) == utf8(title)
    assert [(m["role"], utf8(m["content"])) for m in detail["messages"]] == [
        *((h["role"], utf8(h["content"])) for h in history),
        ("user", utf8(question)),
        ("assistant", utf8(reply)),
    ]
    sent_upstream = fake.requests[-1]["body"]["messages"]
    assert [utf8(m["content"]) for m in sent_upstream] == [
        utf8(preset[0]["content"]),
        *(utf8(h["content"]) for h in history),
        utf8(question),
    ]
    for query in ("你好", "🏳️\u200d🌈", "שלום", "こんにちは"):
        found = await api.call("GET", f"/api/conversations?q={query}")
        assert [c["id"] for c in found.body["items"]] == [cid], query

    # ...and through export and import, as the window and the command line do them.
    exported = await core.service.export([cid])
    markdown = export_markdown(exported)
    assert all(content in markdown for _, content in TRICKY[:2])
    (again,) = await core.service.import_conversations(parse_import(export_json(exported)))
    copy = await core.service.get_conversation(again)
    assert utf8(copy.title) == utf8(title)
    assert [utf8(m.content) for m in copy.messages] == [
        utf8(m["content"]) for m in detail["messages"]
    ]
    assert copy.messages[-1].status is MessageStatus.COMPLETE
    assert copy.preset_messages is not None
    assert utf8(copy.preset_messages[0].content) == utf8(preset[0]["content"])


# Bodies at the limit, and bodies that are not UTF-8 --------------------------------------


async def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(
    api: Api,
) -> None:
    cid = (await api.conversation())["id"]
    path = f"/api/conversations/{cid}"
    exact = b"{}" + b" " * (MAX_BODY - 2)  # JSON allows trailing whitespace

    accepted = await api.call("PATCH", path, data=exact, headers=JSON)
    over = await api.call("PATCH", path, data=exact + b" ", headers=JSON)

    assert accepted.status == 200, accepted.body
    assert (over.status, over.error["kind"]) == (413, "too_large")


async def test_a_message_carrying_files_may_exceed_the_ordinary_limit_up_to_its_own(
    core: Core, fake: FakeOpenAI
) -> None:
    """A photo from a phone is 3-5 MB, more as base64: the messages route (and the
    gateway) take bodies up to the upload limit; other routes keep the ordinary one."""
    upload_limit = 6 * 1024 * 1024
    async with running_api(core, max_upload_body=upload_limit) as api:
        cid = (await api.conversation())["id"]
        log = EventLog(core.service)
        notes = "notes " * (600_000)  # 3.6 MB of text: 4.8 MB as base64
        file = {"name": "notes.txt", "data": base64.b64encode(notes.encode()).decode()}
        body = json.dumps({"text": "Summarise", "attachments": [file]}).encode()
        assert MAX_BODY < len(body) < upload_limit

        sent = await api.call("POST", f"/api/conversations/{cid}/messages", data=body, headers=JSON)
        await log.done(cid)
        other = await api.call("PATCH", f"/api/conversations/{cid}", data=body, headers=JSON)
        over = await api.call(
            "POST",
            f"/api/conversations/{cid}/messages",
            data=body + b" " * (upload_limit - len(body) + 1),
            headers=JSON,
        )

    assert sent.status == 202, sent.body
    parts = fake.requests[-1]["body"]["messages"][-1]["content"]
    assert parts[-1] == {"type": "text", "text": f"Attached file notes.txt:\n\n{notes}"}
    assert (other.status, other.error["kind"]) == (413, "too_large")
    assert (over.status, over.error["kind"]) == (413, "too_large")


@pytest.mark.parametrize(
    ("body", "kind", "fields"),
    [
        (b'{"text": "\xff\xfe"}', "invalid_json", ["body"]),
        (b'{"text": "\xc0\xaf overlong slash"}', "invalid_json", ["body"]),
        (b'{"text": "\xed\xa0\x80 surrogate bytes"}', "invalid_input", ["text"]),
        (b'{"text": "\\ud800 lone surrogate escape"}', "invalid_input", ["text"]),
        (b'{"text": "\\udc00\\ud800 reversed pair"}', "invalid_input", ["text"]),
        (b'{"text": "cut in the middle \xe4\xbd"}', "invalid_json", ["body"]),
        (b'{"text": "nul \x00 inside"}', "invalid_json", ["body"]),
    ],
    ids=["ff-fe", "overlong", "cesu", "lone-escape", "reversed-pair", "truncated", "nul"],
)
async def test_bodies_that_are_not_utf8_are_refused_and_store_nothing(
    api: Api, body: bytes, kind: str, fields: list[str]
) -> None:
    cid = (await api.conversation())["id"]

    reply = await api.call("POST", f"/api/conversations/{cid}/messages", data=body, headers=JSON)

    assert reply.status == 422, reply.body
    assert (reply.error["kind"], reply.error["fields"]) == (kind, fields)
    assert reply.error["message"]
    assert (await api.call("GET", f"/api/conversations/{cid}")).body["messages"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/conversations/%FF%FE",
        "/api/conversations/%ED%A0%80",
        "/api/conversations/%C0%AF",
        "/api/conversations?q=%FF",
        "/api/conversations?q=%ED%A0%80",
        "/api/conversations?q=%00",
    ],
)
async def test_addresses_that_are_not_utf8_never_crash_the_server(api: Api, path: str) -> None:
    reply = await api.call("GET", path)
    assert reply.status in (200, 404), reply.body


@pytest.mark.parametrize("offset", ["9223372036854775808", "1" + "0" * 30, "1000000001"])
async def test_an_offset_past_what_sqlite_counts_is_a_422_not_a_crash(
    api: Api, offset: str
) -> None:
    """Found by the schemathesis run (tests/test_fuzz_api.py): this was a 500."""
    reply = await api.call("GET", f"/api/conversations?offset={offset}")
    assert (reply.status, reply.error["fields"]) == (422, ["offset"])
    assert reply.error["message"] == "offset: must be at least 0 and at most 1000000000"
    assert (await api.call("GET", "/api/conversations?offset=1000000000")).status == 200
