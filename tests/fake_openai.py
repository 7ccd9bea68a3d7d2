"""A fake OpenAI-compatible chat-completions server, so tests drive the real ``openai`` SDK.

It speaks the real wire protocol (OpenAI-shaped JSON errors, SSE over chunked transfer
encoding) and reproduces failures that are hard to provoke on a real endpoint: cut, stalled
or malformed streams, rate limits, clients hanging up early. Standard library only, so it
also runs as a subprocess: ``python -m tests.fake_openai --port 0 --delay 0.05``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import select
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)

# status -> (error code, default message), as api.openai.com answers them.
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("context_length_exceeded", "This model's maximum context length is 8192 tokens."),
    401: ("invalid_api_key", "Incorrect API key provided."),
    404: ("model_not_found", "The model `{model}` does not exist or you do not have access to it."),
    429: ("rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", "The server had an error while processing your request."),
}


@dataclass
class Scenario:
    """How the server answers a chat request: one field per behaviour a test wants to provoke.

    Chunk indexes count the payload chunks of a stream (reasoning first, then content);
    an index past the end of the stream disables the behaviour.
    """

    tokens: list[str] = field(default_factory=lambda: ["Hello", ",", " world", "!"])
    reasoning: list[str] = field(default_factory=list)  # sent as delta.reasoning_content
    delay: float = 0.0  # seconds between chunks
    cut_after: int | None = None  # close the socket after N content chunks, no [DONE]
    stall_after: int | None = None  # stop sending after N chunks until stop() or timeout
    stall_timeout: float = 30.0  # then the connection is dropped
    malformed_at: int | None = None  # send "data: {not json" before the chunk at this index
    status: int = 200  # non-200 answers with an OpenAI-shaped JSON error
    error_message: str | None = None  # overrides the default error message
    retry_after: float | None = None  # Retry-After header on error responses
    usage: bool = True  # final usage chunk, if the request asks for it
    finish_reason: str = "stop"
    model: str | None = None  # None echoes the requested model
    big_chunk: int | None = None  # size in bytes of one extra, huge content chunk
    reject_stream_options: bool = False  # 400 for requests carrying stream_options
    error_body: Any = None  # sent as the JSON body of a non-200 answer instead of OpenAI's shape
    empty_stream: bool = False  # 200, then the body ends with no event and no [DONE]
    keepalive_after: int | None = None  # after N chunks send only keepalive_line until
    keepalive_line: str = ": keep-alive"  # stall_timeout (or stop()), then drop the connection
    keepalive_every: float = 0.05  # seconds between two keep-alive lines
    only_for: str | None = None  # queued: taken only by a request whose last message is this
    answer_body: Any = None  # sent as the JSON of a 200 non-streamed answer instead of OpenAI's
    # Tool calls streamed after the tokens, each {"id", "name", "arguments"} (arguments a
    # text, sent in `tool_call_pieces` pieces); the finish reason is then "tool_calls".
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    tool_call_pieces: int = 3


class _Server(ThreadingHTTPServer):
    """Threaded server carrying a back reference so handlers reach the shared state."""

    daemon_threads = True
    request_queue_size = 64  # tests open many concurrent streams

    def __init__(self, fake: FakeOpenAI, port: int) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can hang without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep test output quiet when a connection dies; still report real bugs."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One connection; keep-alive, so several requests may arrive on it."""

    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real servers set it: otherwise the headers and the first event, two
    # small writes, now and then wait 40 ms for a delayed ACK on a reused connection.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""

    def do_GET(self) -> None:
        fake = self.server.fake
        fake._record(self.path, self.headers.items(), None)
        if self.path.split("?")[0] != "/v1/models":
            self._error(404, None, f"Invalid URL (GET {self.path})")
        elif fake.scenario.status != 200:
            self._scenario_error(fake.scenario, "")
        else:
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models
            ]
            self._json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: dict[str, Any] = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        fake._record(self.path, self.headers.items(), body)
        if self.path.split("?")[0] != "/v1/chat/completions":
            self._error(404, None, f"Invalid URL (POST {self.path})")
            return
        scenario = fake._next_scenario(body)
        model = scenario.model or str(body.get("model", "fake-model"))
        if scenario.status != 200:
            self._scenario_error(scenario, model)
        elif scenario.reject_stream_options and "stream_options" in body:
            # What some older OpenAI-compatible servers answer to a field they do not know.
            self._error(400, None, "Unrecognized request argument supplied: stream_options")
        elif body.get("stream"):
            self._stream(scenario, body, model)
        else:
            self._complete(scenario, body, model)

    # -- responses -------------------------------------------------------------------------

    def _json(self, status: int, payload: object, headers: Iterable[tuple[str, str]] = ()) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in [("Content-Type", "application/json"), *headers]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: int, code: str | None, message: str, retry: float | None = None
    ) -> None:
        """OpenAI-shaped error body; like OpenAI's, the error type follows from the status."""
        kind = "invalid_request_error" if status < 500 else "server_error"
        error = {"message": message, "type": "requests" if status == 429 else kind, "code": code}
        headers = [("Retry-After", f"{retry:g}")] if retry is not None else []
        self._json(status, {"error": {**error, "param": None}}, headers)

    def _scenario_error(self, scenario: Scenario, model: str) -> None:
        if scenario.error_body is not None:  # e.g. FastAPI's {"detail": ...} (llama.cpp, vLLM)
            headers = [("Retry-After", f"{scenario.retry_after:g}")] if scenario.retry_after else []
            return self._json(scenario.status, scenario.error_body, headers)
        code, message = _ERRORS.get(scenario.status, (None, HTTPStatus(scenario.status).phrase))
        message = scenario.error_message or message.replace("{model}", model)
        self._error(scenario.status, code, message, scenario.retry_after)

    def _complete(self, scenario: Scenario, body: dict[str, Any], model: str) -> None:
        """Non-streaming answer (auto-titles use it); honours delay and stall_after only.

        A client hanging up while it waits counts as a disconnect, as it does mid-stream.
        """
        fake = self.server.fake
        try:
            if scenario.stall_after is not None:
                self._pause(scenario.stall_timeout)
                return self._abort()
            if scenario.delay and not self._pause(scenario.delay * len(scenario.tokens)):
                return self._abort()
        except _CLIENT_GONE:
            self.close_connection = True
            if not fake._stopping.is_set():
                fake._count("disconnects")
            return None
        if scenario.answer_body is not None:
            return self._json(200, scenario.answer_body)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(scenario.tokens)}
        if scenario.reasoning:
            message["reasoning_content"] = "".join(scenario.reasoning)
        choice = {"index": 0, "message": message, "finish_reason": scenario.finish_reason}
        completion = _envelope("chat.completion", model)
        completion.update(choices=[choice], usage=_usage(scenario, body))
        self._json(200, completion)

    def _stream(self, scenario: Scenario, body: dict[str, Any], model: str) -> None:
        """SSE stream of chat.completion.chunk events, shaped like OpenAI's."""
        fake = self.server.fake
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = _envelope("chat.completion.chunk", model)
        extra = {"usage": None} if include_usage else {}  # OpenAI adds it to every chunk then
        contents = [*scenario.tokens, *(["x" * scenario.big_chunk] if scenario.big_chunk else [])]
        deltas: list[dict[str, Any]] = [{"reasoning_content": r} for r in scenario.reasoning]
        deltas += [{"content": c} for c in contents]
        deltas += _tool_call_deltas(scenario)
        deltas = deltas or [{"content": ""}]
        deltas[0] = {"role": "assistant", **deltas[0]}
        finish_reason = "tool_calls" if scenario.tool_calls else scenario.finish_reason
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        fake._count("open_streams")
        try:
            if scenario.empty_stream:  # what llama.cpp's server does when the prompt is too long
                self.wfile.write(b"0\r\n\r\n")
                return
            content_sent = 0
            for index, delta in enumerate([*deltas, None]):  # None stands for the finish chunk
                if index and scenario.delay and not self._pause(scenario.delay):
                    return self._abort()
                if scenario.keepalive_after is not None and index >= scenario.keepalive_after:
                    self._keep_alive(scenario)
                    return self._abort()
                if scenario.stall_after is not None and index >= scenario.stall_after:
                    self._pause(scenario.stall_timeout)
                    return self._abort()
                cut, is_content = scenario.cut_after, delta is None or "content" in delta
                if cut is not None and is_content and content_sent >= cut:
                    return self._abort()
                if scenario.malformed_at == index:
                    self._event("{not json")
                finish = None if delta is not None else finish_reason
                choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
                self._event(json.dumps({**base, "choices": [choice], **extra}))
                content_sent += 1 if delta is not None and "content" in delta else 0
            if include_usage and scenario.usage:
                self._event(json.dumps({**base, "choices": [], "usage": _usage(scenario, body)}))
            self._event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")  # last chunk of the chunked body
        except _CLIENT_GONE:
            self.close_connection = True
            if not fake._stopping.is_set():
                fake._count("disconnects")
        finally:
            fake._count("open_streams", -1)

    def _event(self, data: str) -> None:
        """Write one SSE event as one HTTP chunk, so the client sees it immediately."""
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(b"%X\r\n%s\r\n" % (len(payload), payload))

    def _keep_alive(self, scenario: Scenario) -> None:
        """Send keepalive_line and nothing else, as a proxy does while a model is busy."""
        payload = f"{scenario.keepalive_line}\n\n".encode()
        deadline = time.monotonic() + scenario.stall_timeout
        while time.monotonic() < deadline:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(payload), payload))
            if not self._pause(scenario.keepalive_every):
                return

    def _abort(self) -> None:
        """Drop the connection mid-body: the client sees an incomplete chunked body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _pause(self, seconds: float) -> bool:
        """Wait without blocking stop(); False when the server is stopping.

        Raises ConnectionResetError when the client hangs up meanwhile, so that abandoning a
        stalled or slow stream counts as a disconnect just like abandoning a flowing one.
        """
        stopping = self.server.fake._stopping
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if stopping.wait(min(remaining, 0.02)):
                return False
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                raise ConnectionResetError("client closed the connection")
        return not stopping.is_set()


def _tool_call_deltas(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's tool calls as OpenAI streams them: the name first, then arguments in
    pieces, each piece naming its call by index."""
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(scenario.tool_calls):
        head = {"index": index, "id": call["id"], "type": "function"}
        deltas.append({"tool_calls": [{**head, "function": {"name": call["name"]}}]})
        arguments = call.get("arguments", "")
        size = max(1, -(-len(arguments) // max(1, scenario.tool_call_pieces)))
        for start in range(0, len(arguments), size):
            piece = {"index": index, "function": {"arguments": arguments[start : start + size]}}
            deltas.append({"tool_calls": [piece]})
    return deltas


def _envelope(kind: str, model: str) -> dict[str, Any]:
    """The fields every completion object and chunk carries."""
    envelope_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    return {"id": envelope_id, "object": kind, "created": int(time.time()), "model": model}


def _usage(scenario: Scenario, body: dict[str, Any]) -> dict[str, int]:
    """Rough but deterministic counts: words in the prompt, chunks in the answer."""
    messages = body.get("messages") or []
    prompt = sum(len(str(m.get("content") or "").split()) for m in messages if isinstance(m, dict))
    completion = len(scenario.reasoning) + len(scenario.tokens)
    total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


class FakeOpenAI:
    """The server plus thread-safe observability; start()/stop() or use as a context manager.

    ``scenario`` answers chat requests unless ``queue`` is non-empty, in which case each chat
    request pops its first element. ``GET /v1/models`` lists ``models`` and honours
    ``scenario.status``. Recorded state (read it freely, or block on it with wait_for):
    ``requests``, ``open_streams``, ``max_open_streams``, ``disconnects``.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        scenario: Scenario | None = None,
        models: list[str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.tls = tls  # served over HTTPS with this context when given
        self.scenario = scenario or Scenario()
        self.queue: list[Scenario] = []
        self.models = models if models is not None else ["fake-model", "fake-reasoner"]
        self.requests: list[dict[str, Any]] = []
        self.open_streams = 0
        self.max_open_streams = 0
        self.disconnects = 0
        self._port = port
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running")
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_port}/v1"

    def start(self) -> Self:
        self._stopping.clear()
        self._server = _Server(self, self._port)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly: wake stalled handlers and drop every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Clear recorded state; the scenario, queue and models are configuration, kept."""
        with self._cond:
            self.requests.clear()
            self.disconnects = 0
            self.max_open_streams = self.open_streams
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until predicate() is true (checked on every state change); False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    # -- called from handler threads ---------------------------------------------------------

    def _next_scenario(self, body: dict[str, Any]) -> Scenario:
        """The first queued scenario meant for this request, else the standing one.

        `only_for` lets a test aim a scenario at one question, so that a late request of an
        earlier step (cancelled by the client, still read by this server) cannot take it.
        """
        messages = body.get("messages") or [{}]
        last = str(messages[-1].get("content", "")) if isinstance(messages[-1], dict) else ""
        with self._cond:
            for index, scenario in enumerate(self.queue):
                if scenario.only_for in (None, last):
                    return self.queue.pop(index)
            return self.scenario

    def _record(self, path: str, headers: Iterable[tuple[str, str]], body: Any) -> None:
        # Header names are lower-cased so tests need not guess the client's spelling.
        entry = {"path": path, "headers": {k.lower(): v for k, v in headers}, "body": body}
        with self._cond:
            self.requests.append(entry)
            self._cond.notify_all()

    def _count(self, name: str, delta: int = 1) -> None:
        with self._cond:
            setattr(self, name, getattr(self, name) + delta)
            self.max_open_streams = max(self.max_open_streams, self.open_streams)
            self._cond.notify_all()

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._cond:
            (self._connections.add if add else self._connections.discard)(connection)


def main(argv: list[str] | None = None) -> None:
    """Serve until killed; the first stdout line is the base URL, for subprocess tests."""
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--tokens-file", type=Path, help="JSON list, or text streamed by line")
    parser.add_argument(
        "--scenarios-file", type=Path, help="JSON list of Scenario fields, one per request"
    )
    args = parser.parse_args(argv)
    scenario = Scenario(delay=args.delay)
    if args.tokens_file is not None:
        text = args.tokens_file.read_text(encoding="utf-8")
        is_json = text.lstrip().startswith("[")
        scenario.tokens = [str(t) for t in json.loads(text)] if is_json else text.splitlines(True)
    fake = FakeOpenAI(args.port, scenario=scenario)
    if args.scenarios_file is not None:
        fields = json.loads(args.scenarios_file.read_text(encoding="utf-8"))
        fake.queue = [Scenario(**{"delay": args.delay, **f}) for f in fields]
    with fake as server, contextlib.suppress(KeyboardInterrupt):
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
