"""Fan-out of each conversation's events to its open SSE streams.

Many streams may follow one conversation (the benchmark has 100 conversations with 100
each), so the work per stream and per event is what counts:

* one bus subscription per conversation with open streams, not one per stream: the
  engine's bus calls every listener of every conversation for every event;
* each event is serialised and framed once, and the same bytes go to every stream;
* the events a conversation publishes in one iteration of the loop go to each stream in
  one write, at the end of that iteration: a server that falls behind reads several
  chunks of a reply at once, and one write (one system call) per stream instead of one
  per event keeps it from falling further behind;
* a stream whose socket keeps up is written to directly: no queue, no task switch, no
  timer per event;
* heartbeats come from one timer for all streams, not one per stream: with thousands of
  streams, per-stream timers are thousands of objects made and dropped every interval,
  which the garbage collector then has to walk;
* a stream whose socket is full (its transport holds more than the high-water mark)
  queues the events, up to `maxsize`, and its handler writes them once the socket has
  drained. One that falls further behind is disconnected (it may resume with
  Last-Event-ID) rather than let memory grow without limit; it never holds up the others.

The handler of each stream still owns its response: it writes the headers and the replay
through aiohttp, then hands the stream to its Subscriber (`start`), which writes straight
to the transport in the framing aiohttp chose for the response.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from desktop_chat.api.events import encode
from desktop_chat.engine.events import ConversationDeleted, EngineEvent, EventBus

log = logging.getLogger(__name__)

KEEP_ALIVE = b": keep-alive\n\n"


def chunk(data: bytes) -> bytes:
    """`data` as one chunk of an HTTP/1.1 chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class Subscriber:
    """One open stream of one conversation.

    Until `start`, events are only queued (the handler is still writing the replay); after
    it, they are written as they come while the socket keeps up, and queued while it does
    not. The handler waits on `wake` to write the queue, or to end.
    """

    def __init__(
        self, conversation_id: str, maxsize: int, transport: asyncio.Transport | None
    ) -> None:
        self.conversation_id = conversation_id
        self.maxsize = maxsize
        self.wake = asyncio.Event()
        self.ended = False  # no more events (conversation deleted, server stopping)
        self.dropped = transport is None  # cut off: too slow, or the client went away
        self.last_write = time.monotonic()
        self._transport = transport
        self._high_water = transport.get_write_buffer_limits()[1] if transport else 0
        self._chunked = False
        self._live = False
        self._seen = 0  # events up to this id were sent in the replay, or are not wanted
        # (seq, event, event framed as a chunk): the same bytes objects for every stream
        self._queue: deque[tuple[int, bytes, bytes]] = deque()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def deliver(self, batch: Batch, now: float) -> None:
        """Called by the hub with the events of one loop iteration; never blocks."""
        if self.dropped or self.ended or batch.last <= self._seen:
            return
        transport = self._transport
        assert transport is not None
        if (
            self._live
            and not self._queue
            and batch.first > self._seen
            and transport.get_write_buffer_size() <= self._high_water
        ):
            self._write(batch.framed if self._chunked else batch.payload, now)
            return
        fresh = [item for item in batch.events if item[0] > self._seen]
        if len(self._queue) + len(fresh) > self.maxsize:
            log.warning(
                "An SSE client of %s is too slow to keep up (%d events queued); disconnecting it",
                self.conversation_id,
                self.maxsize,
            )
            self.drop()
            return
        self._queue.extend(fresh)
        self.wake.set()

    def skip_through(self, seq: int) -> None:
        """Events up to `seq` are not for this stream (published before it joined)."""
        self._seen = max(self._seen, seq)

    def start(self, chunked: bool, seen: int) -> None:
        """The replay is written (up to event `seen`): stream live events from here on.

        Events queued meanwhile that the replay already covered are forgotten; the others
        stay queued for the handler's next `flush`, so the order holds.
        """
        self._chunked = chunked
        self._live = True
        self._seen = max(self._seen, seen)
        self.last_write = time.monotonic()
        self._queue = deque(item for item in self._queue if item[0] > self._seen)

    def flush(self) -> None:
        """Write every queued event, in one write."""
        if self._queue and not self.dropped:
            index = 2 if self._chunked else 1
            data = b"".join(item[index] for item in self._queue)
            self._queue.clear()
            self._write(data, time.monotonic())

    def heartbeat(self, now: float) -> None:
        """A comment line, so that the connection is seen to be alive; not while events wait."""
        if self._live and not self._queue and not self.dropped:
            self._write(chunk(KEEP_ALIVE) if self._chunked else KEEP_ALIVE, now)

    def end(self) -> None:
        """No more events: the handler writes what is queued, then ends the stream."""
        self.ended = True
        self.wake.set()

    def drop(self) -> None:
        """Cut the connection now; the client may reconnect with its Last-Event-ID."""
        self.dropped = True
        self._queue.clear()
        if self._transport is not None:
            self._transport.abort()
        self.wake.set()

    def _write(self, data: bytes, now: float) -> None:
        transport = self._transport
        assert transport is not None
        if transport.is_closing():  # the client went away
            self.dropped = True
            self._queue.clear()
            self.wake.set()
            return
        transport.write(data)
        self.last_write = now


class Batch:
    """Events published in one iteration of the loop, sent to each stream in one write."""

    def __init__(self, events: list[tuple[int, bytes, bytes]]) -> None:
        self.events = events
        self.first, self.last = events[0][0], events[-1][0]
        self.payload = b"".join(item[1] for item in events)
        self.framed = b"".join(item[2] for item in events)


@dataclass
class _Room:
    """One conversation's open streams, and its events of this loop iteration not sent yet."""

    subscribers: set[Subscriber] = field(default_factory=set)
    unsubscribe: Callable[[], None] = lambda: None
    pending: list[tuple[int, bytes, bytes]] = field(default_factory=list)

    def publish(self, event: EngineEvent) -> None:
        if isinstance(event, ConversationDeleted):
            self.send()
            for subscriber in tuple(self.subscribers):
                subscriber.end()
        elif (payload := encode(event)) is not None:
            self.pending.append((event.seq, payload, chunk(payload)))
            if len(self.pending) == 1:
                asyncio.get_running_loop().call_soon(self.send)

    def send(self) -> None:
        if self.pending:
            batch = Batch(self.pending)
            self.pending = []
            now = time.monotonic()
            for subscriber in tuple(self.subscribers):
                subscriber.deliver(batch, now)


class StreamHub:
    """The open streams, by conversation, with one bus subscription each and one heartbeat.

    A stream gets a heartbeat comment once nothing was written to it for `heartbeat`
    seconds (checked every eighth of that).
    """

    def __init__(self, bus: EventBus, heartbeat: float) -> None:
        self._bus = bus
        self._heartbeat = heartbeat
        self._rooms: dict[str, _Room] = {}
        self._ticker: asyncio.TimerHandle | None = None

    @property
    def open_streams(self) -> int:
        return sum(len(room.subscribers) for room in self._rooms.values())

    def join(self, subscriber: Subscriber) -> Callable[[], None]:
        """Deliver the conversation's events to `subscriber` from now on; returns `leave`."""
        cid = subscriber.conversation_id
        room = self._rooms.get(cid)
        if room is None:
            room = self._rooms[cid] = _Room()
            room.unsubscribe = self._bus.subscribe(room.publish, cid)
        if room.pending:  # published before it joined: not for this stream (as without batches)
            subscriber.skip_through(room.pending[-1][0])
        room.subscribers.add(subscriber)
        if self._ticker is None:
            self._schedule()

        def leave() -> None:
            room.subscribers.discard(subscriber)
            if not room.subscribers and self._rooms.get(cid) is room:
                del self._rooms[cid]
                room.unsubscribe()
            if not self._rooms and self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None

        return leave

    def end_all(self) -> None:
        """End every stream (the server is stopping)."""
        for room in list(self._rooms.values()):
            for subscriber in tuple(room.subscribers):
                subscriber.end()

    def _schedule(self) -> None:
        self._ticker = asyncio.get_running_loop().call_later(self._heartbeat / 8, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        for room in self._rooms.values():
            for subscriber in room.subscribers:
                if now - subscriber.last_write >= self._heartbeat:
                    subscriber.heartbeat(now)
        self._schedule()
