"""Reply versions and forks: regenerate and edit keep what was there; branches anywhere."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desktop_chat.app import Core
from desktop_chat.engine.events import PathChanged
from desktop_chat.schemas import Conversation, MessageStatus
from desktop_chat.store import Store
from desktop_chat.store.migrations import current_version
from desktop_chat.store.tree import Tree
from desktop_chat.transfer import export_json, export_markdown, parse_import
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog


class Chat:
    """One conversation driven through the engine, against the fake upstream."""

    def __init__(self, core: Core, fake: FakeOpenAI, cid: str) -> None:
        self.core, self.fake, self.cid = core, fake, cid
        self.log = EventLog(core.service, cid)
        self.replies = 0

    @classmethod
    async def start(cls, core: Core, fake: FakeOpenAI, title: str) -> Chat:
        conversation = await core.service.create_conversation(title=title)
        return cls(core, fake, conversation.id)

    async def _answered(self, answer: str, step: object) -> None:
        self.fake.scenario = Scenario(tokens=[answer])
        await step  # type: ignore[misc]
        self.replies += 1
        await self.log.done(self.cid, self.replies)

    async def ask(self, text: str, answer: str) -> None:
        await self._answered(answer, self.core.service.send(self.cid, text))

    async def regenerate(self, answer: str) -> None:
        await self._answered(answer, self.core.service.regenerate(self.cid))

    async def path(self) -> list[str]:
        return contents(await self.core.service.get_conversation(self.cid))


def contents(detail: object) -> list[str]:
    return [m.content for m in detail.messages]  # type: ignore[attr-defined]


# The shape alone ---------------------------------------------------------------------


def test_the_tree_walks_paths_leaves_versions_and_survives_damage() -> None:
    tree = Tree([(1, None), (2, 1), (3, 1), (4, 3), (5, None), (6, 99), (7, 8), (8, 7)])
    assert tree.path_to(4) == [1, 3, 4]
    assert tree.newest_leaf(1) == 4 and tree.newest_leaf(2) == 2
    assert tree.newest_leaf(None) == 6, "the newest root: 6's parent is unknown"
    assert tree.versions([1, 3, 4]) == {3: [2, 3], 1: [1, 5, 6]}
    assert sorted(tree.subtree(1)) == [1, 2, 3, 4]
    assert tree.path_to(7) in ([8, 7], [7]), "a loop from a damaged file ends, never hangs"


# Regenerate, edit, switch ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_regenerating_three_times_keeps_four_replies_each_reachable(
    core: Core, fake: FakeOpenAI
) -> None:
    chat = await Chat.start(core, fake, "Versions")
    await chat.ask("Name a colour", "Red")
    for answer in ("Green", "Blue", "Gold"):
        await chat.regenerate(answer)

    detail = await core.service.get_conversation(chat.cid)
    assert contents(detail) == ["Name a colour", "Gold"]
    reply = detail.messages[-1]
    assert reply.id is not None
    versions = detail.versions[reply.id]
    assert len(versions) == 4 and versions[-1] == reply.id
    seen = []
    for version in versions:
        shown = await core.service.show_version(chat.cid, version)
        seen.append(shown.messages[-1].content)
    assert seen == ["Red", "Green", "Blue", "Gold"]
    assert await chat.path() == ["Name a colour", "Gold"]


@pytest.mark.asyncio
async def test_a_regenerate_shows_the_path_ending_at_the_question_while_it_streams(
    core: Core, fake: FakeOpenAI
) -> None:
    chat = await Chat.start(core, fake, "Streaming")
    await chat.ask("Hello?", "Hi.")
    await chat.regenerate("Hey there.")
    during, after = (e.conversation for e in chat.log.of(PathChanged))
    assert contents(during) == ["Hello?"]
    assert contents(after) == ["Hello?", "Hey there."]
    assert len(after.versions[after.messages[-1].id]) == 2, "the switcher counts both"


@pytest.mark.asyncio
async def test_retrying_a_reply_that_failed_before_its_first_word_replaces_it(
    core: Core, fake: FakeOpenAI
) -> None:
    chat = await Chat.start(core, fake, "Retry")
    fake.scenario = Scenario(status=500)
    await core.service.send(chat.cid, "Hello?")
    assert (await chat.log.done(chat.cid)).status is MessageStatus.FAILED
    chat.replies = 1
    await chat.regenerate("Fine.")
    detail = await core.service.get_conversation(chat.cid)
    assert contents(detail) == ["Hello?", "Fine."] and detail.versions == {}


@pytest.mark.asyncio
async def test_edit_and_resend_keeps_the_old_question_and_what_followed(
    core: Core, fake: FakeOpenAI
) -> None:
    chat = await Chat.start(core, fake, "Edits")
    await chat.ask("First", "One")
    await chat.ask("Second", "Two")
    question = (await core.service.get_conversation(chat.cid)).messages[2]
    assert question.id is not None
    await chat._answered(
        "Deux", core.service.edit_and_resend(chat.cid, question.id, "Second, in French")
    )
    assert await chat.path() == ["First", "One", "Second, in French", "Deux"]
    request = fake.requests[-1]["body"]["messages"]
    assert [m["content"] for m in request if m["role"] != "system"] == [
        "First",
        "One",
        "Second, in French",
    ], "only the current path is sent"
    old = await core.service.show_version(chat.cid, question.id)
    assert contents(old) == ["First", "One", "Second", "Two"], "the old branch is whole"


@pytest.mark.asyncio
async def test_deleting_a_message_relinks_or_removes_what_followed(
    core: Core, fake: FakeOpenAI
) -> None:
    chat = await Chat.start(core, fake, "Deletes")
    for text, answer in (("A", "a"), ("B", "b"), ("C", "c")):
        await chat.ask(text, answer)
    messages = (await core.service.get_conversation(chat.cid)).messages
    question_b, answer_b = messages[2].id, messages[3].id
    assert question_b is not None and answer_b is not None
    await core.service.delete_message(chat.cid, question_b)
    assert await chat.path() == ["A", "a", "b", "C", "c"]
    await core.service.delete_message(chat.cid, answer_b, with_replies=True)
    assert await chat.path() == ["A", "a"]


@pytest.mark.asyncio
async def test_replacing_the_context_keeps_versions_hanging_off_messages_that_stay(
    core: Core, fake: FakeOpenAI
) -> None:
    chat = await Chat.start(core, fake, "Context")
    await chat.ask("Q", "first answer")
    await chat.regenerate("second answer")
    context = await core.service.get_context(chat.cid)
    last = context.history[-1].model_copy(update={"content": "second answer, edited"})
    edited = context.model_copy(update={"history": [*context.history[:-1], last]})
    await core.service.replace_context(chat.cid, edited)
    detail = await core.service.get_conversation(chat.cid)
    assert contents(detail) == ["Q", "second answer, edited"]
    assert len(detail.versions[detail.messages[-1].id]) == 2, "the first answer is still there"


# Forks -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_fork_is_independent_of_its_origin(core: Core, fake: FakeOpenAI) -> None:
    chat = await Chat.start(core, fake, "Trip")
    await chat.ask("Where to?", "Lisbon.")
    await chat.ask("When?", "May.")
    at = (await core.service.get_conversation(chat.cid)).messages[1].id
    assert at is not None
    fork = await core.service.fork(chat.cid, at)
    assert fork.id != chat.cid and fork.title.startswith("Trip")
    assert contents(fork) == ["Where to?", "Lisbon."]

    branch = Chat(core, fake, fork.id)
    await branch.ask("Somewhere else?", "Porto.")
    copied_reply = fork.messages[1].id
    assert copied_reply is not None
    await core.service.delete_message(fork.id, copied_reply)
    assert await branch.path() == ["Where to?", "Somewhere else?", "Porto."]
    assert await chat.path() == ["Where to?", "Lisbon.", "When?", "May."], "origin unchanged"


# Export and import ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_every_version_survives_export_and_import(core: Core, fake: FakeOpenAI) -> None:
    chat = await Chat.start(core, fake, "Archive")
    await chat.ask("Pick one", "Apple")
    await chat.regenerate("Pear")
    await chat.regenerate("Plum")
    versions = next(iter((await core.service.get_conversation(chat.cid)).versions.values()))
    await core.service.show_version(chat.cid, versions[1])  # Pear is current

    archive = await core.service.export([chat.cid])
    exported = export_json(archive)
    document = json.loads(exported)["conversations"][0]
    assert len(document["messages"]) == 4 and document["current_message_id"] == versions[1]
    markdown = export_markdown(archive)
    assert "Pear" in markdown and "Plum" not in markdown, "Markdown holds the current path"

    (copy_id,) = await core.service.import_conversations(parse_import(exported))
    copy = await core.service.get_conversation(copy_id)
    assert contents(copy) == ["Pick one", "Pear"]
    shown = []
    for version in copy.versions[copy.messages[-1].id]:
        shown.append((await core.service.show_version(copy_id, version)).messages[-1].content)
    assert shown == ["Apple", "Pear", "Plum"]


@pytest.mark.asyncio
async def test_an_export_from_before_versions_imports_unchanged(core: Core) -> None:
    old = {
        "format": "desktop_chat",
        "version": 1,
        "conversations": [
            {
                "title": "Old",
                "messages": [
                    {"role": "user", "content": "one", "timestamp": "2026-01-01T10:00:00+00:00"},
                    {"role": "assistant", "content": "two", "timestamp": "2026-01-01T10:00:01Z"},
                    {"role": "user", "content": "three", "timestamp": 1767261602},
                ],
            }
        ],
    }
    (cid,) = await core.service.import_conversations(parse_import(json.dumps(old)))
    detail = await core.service.get_conversation(cid)
    assert contents(detail) == ["one", "two", "three"] and detail.versions == {}


# Migration ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_linear_history_becomes_one_path_losing_nothing(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    store = await Store.open(path)
    try:
        conversation = await store.run(
            lambda r: r.conversations.create(Conversation(title="Before versions"))
        )
    finally:
        await store.close()
    raw = sqlite3.connect(path)
    with raw:  # as a release before versions wrote it: no parents, no current message
        conv = raw.execute("SELECT id FROM conversation").fetchone()[0]
        for position, (role, text) in enumerate(
            [("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d")], start=1
        ):
            raw.execute(
                "INSERT INTO message (conversation_id, position, role, content, reasoning,"
                " status, created_at) VALUES (?, ?, ?, ?, '', 'complete', '2026-01-01')",
                (conv, position, role, text),
            )
        raw.execute("UPDATE message SET parent_id = NULL")
        raw.execute("UPDATE conversation SET current_message_id = NULL")
        raw.execute("DELETE FROM schema_version WHERE version >= 6")
        raw.execute("DROP INDEX message_conversation_id_id_parent_id")
    raw.execute("ALTER TABLE message DROP COLUMN parent_id")
    raw.execute("ALTER TABLE conversation DROP COLUMN current_message_id")
    raw.execute("ALTER TABLE api_token DROP COLUMN agents")  # and before token rights (V7)
    raw.execute("ALTER TABLE api_token DROP COLUMN store_conversations")
    for table in ("attachment_fts", "attachment_gone", "attachment"):  # and attachments (V8)
        raw.execute(f"DROP TABLE {table}")
    raw.execute("ALTER TABLE agent DROP COLUMN vision")
    raw.execute("ALTER TABLE message DROP COLUMN tool_calls")  # and before tools (V9)
    raw.execute("ALTER TABLE message DROP COLUMN tool_call_id")
    raw.execute("ALTER TABLE agent DROP COLUMN tools")
    raw.execute("DROP TABLE mcp_server")
    raw.commit()
    raw.close()

    store = await Store.open(path)
    try:
        assert await store.run(lambda r: current_version(r.db)) >= 6
        detail = await store.run(lambda r: r.conversations.get(conversation.id))
    finally:
        await store.close()
    assert contents(detail) == ["a", "b", "c", "d"]
    assert [m.parent_id for m in detail.messages[1:]] == [m.id for m in detail.messages[:-1]]
    assert detail.current_message_id == detail.messages[-1].id
