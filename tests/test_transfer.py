"""Export and import through the real engine and a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop_chat.app import Core
from desktop_chat.schemas import Conversation, ConversationDetail, Message, MessageStatus
from desktop_chat.transfer import ImportError_, export_json, export_markdown, parse_import

# Text that breaks naive code: grapheme clusters, astral characters, bidirectional text,
# combining marks next to their precomposed twins, invisible characters, raw whitespace.
TRICKY = [
    ("user", "Family 👨\u200d👩\u200d👧\u200d👦, flag 🏳️\u200d🌈, thumbs 👍🏽, Japan 🇯🇵, heart ❤️"),
    ("assistant", "中文：你好，世界！日本語：こんにちは。한국어: 안녕하세요. Rare: 𠀋𡈽"),
    ("user", "عربي: مرحبا بالعالم — עברית: שלום עולם (123) \u202bembedded\u202c \u200fmark"),
    (
        "assistant",
        "e\u0301 is not é; a\u0308\u0304; Z\u0335\u0321a\u0336lgo; ZWJ\u200d ZWNJ\u200c BOM\ufeff",
    ),
    ("user", "  spaces  \n\ttab\r\nCRLF\n\n```py\nprint(\"\\\\ 'quotes'\")\n```\n</script>\x7f"),
]
T0 = datetime(2024, 11, 25, 2, 0, 0, 123456, tzinfo=UTC)


async def _conversation_count(core: Core) -> int:
    return len(await core.service.list_conversations())


async def _import_file(core: Core, path: Path) -> list[str]:
    """What `desktop-chat import FILE` and the window's import both do."""
    return await core.service.import_conversations(parse_import(path.read_bytes()))


async def _seed(core: Core, title: str, pinned: bool = False) -> ConversationDetail:
    conversation = Conversation(title=title, pinned=pinned, agent_id=None)
    created = await core.store.run(lambda r: r.conversations.create(conversation))
    for i, (role, content) in enumerate(TRICKY):
        message = Message(
            role=role,
            content=content,
            created_at=T0 + timedelta(seconds=i, microseconds=i),
            reasoning="thinking about ١٢٣ and 你好" if role == "assistant" else "",
            status=MessageStatus.STOPPED if i == 3 else MessageStatus.COMPLETE,
            model="fake-model" if role == "assistant" else None,
        )
        await core.store.run(lambda r, m=message: r.messages.append(created.id, m))
    return await core.service.get_conversation(created.id)


def _shape(detail: ConversationDetail) -> list[tuple]:
    return [
        (m.role, m.content.encode("utf-8"), m.created_at, m.reasoning, m.status, m.model)
        for m in detail.messages
    ]


@pytest.mark.asyncio
async def test_json_round_trip_is_exact(core: Core, tmp_path: Path) -> None:
    original = await _seed(core, "Ünïcödé 🧪 مرحبا", pinned=True)

    exported = export_json(await core.service.export([original.id]))
    file = tmp_path / "export.json"
    file.write_text(exported, encoding="utf-8")
    assert "你好，世界" in file.read_text(encoding="utf-8"), "the export escaped the text"
    document = json.loads(exported)
    assert (document["format"], document["version"]) == ("desktop_chat", 2)
    first = document["conversations"][0]["messages"][0]
    assert set(first) >= {"id", "parent_id", "role", "content", "timestamp"}

    (copy_id,) = await _import_file(core, file)

    assert copy_id != original.id, "an id that is taken gets a fresh one"
    copy = await core.service.get_conversation(copy_id)
    assert (copy.title, copy.pinned) == (original.title, original.pinned)
    assert _shape(copy) == _shape(original)
    assert [m.content for m in copy.messages] == [content for _, content in TRICKY]

    await core.service.delete_conversation(original.id)
    assert await _import_file(core, file) == [original.id], "the session id is kept when free"
    again = await core.service.get_conversation(original.id)
    assert _shape(again) == _shape(original)
    assert (again.created_at, again.updated_at) == (T0, T0 + timedelta(seconds=4, microseconds=4))


@pytest.mark.asyncio
async def test_the_original_request_shape_is_accepted(core: Core, tmp_path: Path) -> None:
    one = {
        "session_id": "request-shape-1",
        "title": "From the request",
        "messages": [
            {"role": "user", "content": "seconds", "timestamp": 1732500000},
            {"role": "assistant", "content": "millis", "timestamp": 1732500001500},
            {"role": "user", "content": "fractional", "timestamp": 1732500002.25},
            {"role": "assistant", "content": "iso z", "timestamp": "2024-11-25T02:00:03Z"},
            {"role": "user", "content": "offset", "timestamp": "2024-11-25T11:00:04+09:00"},
            {"role": "assistant", "content": "naive", "timestamp": "2024-11-25T02:00:05"},
        ],
    }
    file = tmp_path / "one.json"
    file.write_text(json.dumps(one), encoding="utf-8")

    assert await _import_file(core, file) == ["request-shape-1"]

    detail = await core.service.get_conversation("request-shape-1")
    assert detail.title == "From the request"
    start = datetime(2024, 11, 25, 2, 0, 0, tzinfo=UTC)
    assert [(m.role, m.content, m.created_at) for m in detail.messages] == [
        ("user", "seconds", start),
        ("assistant", "millis", start + timedelta(seconds=1.5)),
        ("user", "fractional", start + timedelta(seconds=2.25)),
        ("assistant", "iso z", start + timedelta(seconds=3)),
        ("user", "offset", start + timedelta(seconds=4)),
        ("assistant", "naive", start + timedelta(seconds=5)),
    ]
    assert all(m.status is MessageStatus.COMPLETE for m in detail.messages)


@pytest.mark.asyncio
async def test_a_list_of_conversations_is_imported_whole(core: Core, tmp_path: Path) -> None:
    items = [
        {
            "session_id": f"list-{i}",
            "title": f"Item {i}",
            "messages": [
                {"role": "user", "content": f"question {i}", "timestamp": 1732500000 + i},
                {"role": "assistant", "content": f"answer {i}", "timestamp": 1732500100 + i},
            ],
        }
        for i in range(3)
    ]
    items.append({"messages": [{"role": "user", "content": "Untitled but clear question"}]})
    file = tmp_path / "many.json"
    file.write_text(json.dumps(items), encoding="utf-8")
    before = await _conversation_count(core)

    created = await _import_file(core, file)

    assert created[:3] == ["list-0", "list-1", "list-2"] and len(created) == 4
    assert await _conversation_count(core) == before + 4
    untitled = await core.service.get_conversation(created[3])
    assert untitled.title == "Untitled but clear question", "the title comes from the question"
    second = await core.service.get_conversation("list-1")
    assert [m.content for m in second.messages] == ["question 1", "answer 1"]
    hits = await core.service.list_conversations(query="answer")
    assert {c.id for c in hits} == {"list-0", "list-1", "list-2"}


@pytest.mark.asyncio
async def test_long_conversations_keep_their_order(core: Core, tmp_path: Path) -> None:
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"line {i}"} for i in range(1203)
    ]
    file = tmp_path / "long.json"
    file.write_text(json.dumps({"title": "long", "messages": messages}), encoding="utf-8")

    (cid,) = await _import_file(core, file)

    detail = await core.service.get_conversation(cid)
    assert [m.content for m in detail.messages] == [f"line {i}" for i in range(1203)]


def _valid(i: int) -> dict:
    return {"title": f"fine {i}", "messages": [{"role": "user", "content": "ok"}]}


MALFORMED = {
    "not json": ('{"title": "cut short", "messages": [', "not valid JSON"),
    "not utf-8": (b'{"title": "\xff\xfe", "messages": []}', "not valid JSON"),
    "empty list": ("[]", "no conversations"),
    "not an object": ('["just text"]', "Conversation 1: expected an object"),
    "missing messages": ('{"title": "no messages"}', "`messages` list is missing"),
    "messages not a list": ('{"messages": "hello"}', "Conversation 1: messages"),
    "bad role": (
        '{"messages": [{"role": "robot", "content": "beep"}]}',
        "Conversation 1: messages.0.role",
    ),
    "missing content": ('{"messages": [{"role": "user"}]}', "messages.0.content"),
    "bad timestamp": (
        '{"messages": [{"role": "user", "content": "x", "timestamp": "yesterday"}]}',
        "messages.0.timestamp",
    ),
    "timestamp out of range": (
        '{"messages": [{"role": "user", "content": "x", "timestamp": 1e300}]}',
        "messages.0.timestamp",
    ),
    "timestamp is a boolean": (
        '{"messages": [{"role": "user", "content": "x", "timestamp": true}]}',
        "messages.0.timestamp",
    ),
    "third of a list": (
        json.dumps(
            [
                _valid(1),
                _valid(2),
                {
                    "title": "broken",
                    "messages": [
                        {"role": "user", "content": "fine"},
                        {"role": "wizard", "content": "not fine"},
                    ],
                },
                _valid(4),
            ]
        ),
        "Conversation 3: messages.1.role",
    ),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_bad_file_is_refused_whole(core: Core, tmp_path: Path, case: str) -> None:
    raw, expected = MALFORMED[case]
    file = tmp_path / "bad.json"
    file.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
    await core.service.create_conversation(title="already here")
    before = await core.service.list_conversations()

    with pytest.raises(ImportError_) as caught:
        await _import_file(core, file)

    assert expected in str(caught.value)
    assert await core.service.list_conversations() == before


@pytest.mark.asyncio
async def test_markdown_export_has_titles_roles_and_text(core: Core) -> None:
    seeded = await _seed(core, "Bidi & emoji 🧪")
    untitled = await core.service.create_conversation()
    await core.store.run(
        lambda r: r.messages.append(untitled.id, Message(role="user", content="Anyone there?"))
    )

    markdown = export_markdown(await core.service.export([seeded.id, untitled.id]))

    assert "# Bidi & emoji 🧪\n" in markdown
    assert "# Untitled conversation\n" in markdown
    assert markdown.count("## User · ") == 4
    assert markdown.count("## Assistant · ") == 1
    assert markdown.count("## Assistant (stopped) · ") == 1
    for _, content in TRICKY:
        assert content in markdown
    assert "Anyone there?" in markdown
    assert markdown.index("# Bidi") < markdown.index(TRICKY[0][1]) < markdown.index(TRICKY[4][1])


@pytest.mark.asyncio
async def test_a_conversations_own_prompt_survives_export_and_import(core):
    from desktop_chat.schemas import ChatMessage, Context
    from desktop_chat.transfer import export_json, parse_import

    own = [ChatMessage(role="system", content="Answer in French.")]
    conv = await core.service.create_conversation(context=Context(preset=own))
    exported = export_json(await core.service.export([conv.id]))
    await core.service.delete_conversation(conv.id)
    (new_id,) = await core.service.import_conversations(parse_import(exported))
    assert (await core.service.get_conversation(new_id)).preset_messages == own
    assert (await core.service.get_context(new_id)).preset == own
