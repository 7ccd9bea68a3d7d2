"""The engine's typed events: what every kind carries to the window and to the API."""

from __future__ import annotations

import json

import pytest

from desktop_chat.api.events import STREAMED, encode
from desktop_chat.app import Core
from desktop_chat.engine import events
from desktop_chat.engine.events import (
    ConversationChanged,
    ConversationDeleted,
    EngineEvent,
    EventBus,
    MessageStored,
    PathChanged,
    ReplyDelta,
    ReplyDone,
    ReplyStarted,
    TitleChanged,
)
from desktop_chat.schemas import Message
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import EventLog


def every_event_class() -> list[type[EngineEvent]]:
    return [
        value
        for value in vars(events).values()
        if isinstance(value, type) and issubclass(value, EngineEvent) and value is not EngineEvent
    ]


def test_the_window_has_a_signal_for_every_kind_of_event(qapp: object) -> None:
    """A new kind of event without its signal would never reach the window."""
    from desktop_chat.ui.bridge import EngineBridge

    class NoService:
        bus = EventBus()

    bridge = EngineBridge(NoService())  # type: ignore[arg-type]
    received: list[EngineEvent] = []
    try:
        for kind in every_event_class():
            assert kind in bridge._signals, f"{kind.__name__} has no signal"
        bridge._signals[TitleChanged].connect(received.append)
        event = NoService.bus.publish(TitleChanged(conversation_id="c", title="T"))
        assert received == [event]
    finally:
        bridge.close()


def test_sequence_ids_rise_and_a_failing_listener_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[int] = []

    def broken(event: EngineEvent) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(e.seq), "c1")
    first = bus.publish(ConversationDeleted(conversation_id="c1"))
    bus.publish(ConversationDeleted(conversation_id="c2"))  # not followed
    second = bus.publish(ConversationDeleted(conversation_id="c1"))
    assert seen == [first.seq, second.seq] and second.seq > first.seq
    assert "listener failed on ConversationDeleted" in caplog.text


def test_the_api_streams_the_reply_events_and_keeps_the_rest_to_itself() -> None:
    message = Message(id=3, role="assistant", content="Hi")
    samples: list[EngineEvent] = [
        MessageStored(conversation_id="c", message=message),
        ReplyDelta(conversation_id="c", text="H", reasoning="r"),
        TitleChanged(conversation_id="c", title="T"),
    ]
    for event in samples:
        event.seq = 41
        raw = encode(event)
        assert raw is not None
        head, data = raw.decode().strip().split("\n")
        assert head == "id: 41"
        payload = json.loads(data.removeprefix("data: "))
        assert payload["type"] == STREAMED[type(event)][0]
    assert json.loads(encode(samples[0]).decode().split("data: ")[1])["data"]["content"] == "Hi"  # type: ignore[union-attr]
    for private in (
        ConversationDeleted(conversation_id="c"),
        ReplyStarted(conversation_id="c", agent_id="a", model="m"),
    ):
        assert encode(private) is None


@pytest.mark.asyncio
async def test_a_reply_tells_its_start_stored_messages_and_end_in_order(
    core: Core, fake: FakeOpenAI
) -> None:
    fake.scenario = Scenario(tokens=["One", " two"])
    conversation = await core.service.create_conversation(title="Counting")
    log = EventLog(core.service, conversation.id)
    await core.service.send(conversation.id, "Count")
    done = await log.done(conversation.id)
    kinds = [type(e) for e in log.events]
    assert kinds[:2] == [MessageStored, ReplyStarted]
    assert kinds[-2:] == [MessageStored, ReplyDone]
    assert {ReplyDelta} == set(kinds[2:-2])
    stored = log.of(MessageStored)
    assert [m.message.role for m in stored] == ["user", "assistant"]
    assert done.message_id == stored[-1].message.id and stored[-1].message.content == "One two"


@pytest.mark.asyncio
async def test_history_changes_carry_the_new_summary(core: Core, fake: FakeOpenAI) -> None:
    conversation = await core.service.create_conversation()
    log = EventLog(core.service, conversation.id)
    await core.service.send(conversation.id, "Question")
    await log.done(conversation.id)
    reply = log.of(MessageStored)[-1].message
    assert reply.id is not None
    await core.service.delete_message(conversation.id, reply.id)
    (changed,) = log.of(PathChanged)
    assert changed.conversation.message_count == 1
    await core.service.update_conversation(conversation.id, pinned=True)
    renamed = log.of(ConversationChanged)[-1]
    assert renamed.conversation.pinned and renamed.conversation.message_count == 1
