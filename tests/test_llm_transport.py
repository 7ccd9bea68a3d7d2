"""Requests leave through aiohttp, through the proxy the person chose or the environment's,
and without loading httpx2's own HTTP/1.1 stack on the way to a reply's first byte."""

from __future__ import annotations

import ast
import asyncio
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from desktop_chat.llm.client import LLMClient
from desktop_chat.llm.errors import ErrorKind, LLMError
from desktop_chat.schemas import AgentParams, ChatMessage
from tests.fake_openai import FakeOpenAI, Scenario
from tests.tls_support import self_signed

QUESTION = [ChatMessage(role="user", content="hi")]


class LocalProxy:
    """A proxy on 127.0.0.1, started and stopped with `async with`; `_serve` speaks it."""

    scheme = "http"

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"{self.scheme}://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


class ForwardProxy(LocalProxy):
    """A plain-HTTP forward proxy: one request per connection, each noted."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line, _, fields = head.partition(b"\r\n")
            method, target, version = line.split(b" ")
            self.requests.append(f"{method.decode()} {target.decode()}")
            length = 0
            for field in fields.split(b"\r\n"):
                name, _, value = field.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            url = urlsplit(target.decode())
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
            kept = [f for f in fields.split(b"\r\n") if not f.lower().startswith(b"connection:")]
            up_writer.write(b" ".join([method, url.path.encode(), version]) + b"\r\n")
            up_writer.write(b"\r\n".join([*filter(None, kept), b"Connection: close"]))
            up_writer.write(b"\r\n\r\n" + body)
            while piece := await up_reader.read(65536):
                writer.write(piece)
                await writer.drain()
            up_writer.close()
        finally:
            writer.close()


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with ForwardProxy() as running:
        yield running


async def reply_text(client: LLMClient) -> str:
    try:
        items = [item async for item in client.stream_chat("m", QUESTION, AgentParams())]
    finally:
        await client.aclose()
    return "".join(getattr(item, "text", "") for item in items)


def test_a_client_is_made_without_httpx2s_own_connection_stack() -> None:
    """httpcore2 and h11 took about 90 ms to import before a reply's first byte (#19)."""
    probe = (
        "import sys; from desktop_chat.llm.client import LLMClient; "
        "LLMClient('https://example.invalid/v1', None); "
        "print([m for m in ('httpcore2', 'h11') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert ast.literal_eval(result.stdout.strip()) == []


@pytest.mark.asyncio
async def test_the_proxy_in_the_settings_carries_the_reply(
    fake: FakeOpenAI, proxy: ForwardProxy
) -> None:
    fake.scenario = Scenario(tokens=["Through ", "the ", "proxy."])
    text = await reply_text(LLMClient(fake.base_url, None, proxy=proxy.url))
    assert text == "Through the proxy."
    assert proxy.requests == [f"POST {fake.base_url}/chat/completions"]


@pytest.mark.asyncio
async def test_the_environments_proxy_is_used_unless_no_proxy_names_the_server(
    fake: FakeOpenAI, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.scenario = Scenario(tokens=["ok"])
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    assert await reply_text(LLMClient(fake.base_url, None)) == "ok"
    assert len(proxy.requests) == 1

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert await reply_text(LLMClient(fake.base_url, None)) == "ok"
    assert len(proxy.requests) == 1  # straight to the server this time


@pytest.mark.asyncio
async def test_a_proxy_that_refuses_connections_is_named_as_unreachable(
    fake: FakeOpenAI,
) -> None:
    client = LLMClient(fake.base_url, None, proxy="http://127.0.0.1:9")
    with pytest.raises(LLMError) as failed:
        await reply_text(client)
    assert failed.value.kind is ErrorKind.CONNECTION
    assert fake.requests == []


ASK_OVER_TLS = """
import asyncio, sys
from desktop_chat.llm.client import LLMClient
from desktop_chat.llm.errors import LLMError
from desktop_chat.schemas import AgentParams, ChatMessage

async def main():
    client = LLMClient(sys.argv[1], None)
    try:
        question = [ChatMessage(role="user", content="hi")]
        items = [i async for i in client.stream_chat("m", question, AgentParams())]
        print("text:" + "".join(getattr(i, "text", "") for i in items))
    except LLMError as error:
        print("error:" + error.kind)
    finally:
        await client.aclose()

asyncio.run(main())
"""


def test_https_servers_are_verified_against_the_certificates_the_environment_names(
    tmp_path: Path,
) -> None:
    """SSL_CERT_FILE is honoured, as httpx2 honoured it; a certificate not trusted is refused."""
    cert_file, key_file = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    with FakeOpenAI(scenario=Scenario(tokens=["Over ", "TLS."]), tls=tls) as fake:
        assert fake.base_url.startswith("https://")

        def ask(extra: dict[str, str]) -> str:
            done = subprocess.run(
                [sys.executable, "-c", ASK_OVER_TLS, fake.base_url],
                capture_output=True,
                text=True,
                timeout=60,
                env={**env, **extra},
                check=True,
            )
            return done.stdout.strip()

        assert ask({"SSL_CERT_FILE": str(cert_file)}) == "text:Over TLS."
        assert ask({}) == f"error:{ErrorKind.CONNECTION}"


@pytest.mark.asyncio
async def test_a_certificate_nobody_trusts_is_named_as_such(tmp_path: Path) -> None:
    """Not "cannot reach the server, is it running?": it answered, with a certificate
    this computer does not trust (a company proxy, a private server)."""
    cert_file, key_file = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    with FakeOpenAI(tls=tls) as fake, pytest.raises(LLMError) as refused:
        where = fake.base_url
        await reply_text(LLMClient(where, None))
    assert refused.value.kind is ErrorKind.CONNECTION
    assert refused.value.user_message == (
        f"The server at {where} showed a certificate this computer does not trust. "
        "For a private server or a company proxy, point SSL_CERT_FILE at its certificate "
        "authority."
    )


class Socks5Proxy(LocalProxy):
    """A SOCKS5 proxy without authentication; notes where it connected."""

    scheme = "socks5"

    def __init__(self) -> None:
        super().__init__()
        self.connected: list[tuple[str, int]] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            _version, methods = await reader.readexactly(2)
            await reader.readexactly(methods)
            writer.write(b"\x05\x00")  # no authentication
            _version, _command, _reserved, kind = await reader.readexactly(4)
            if kind == 1:  # IPv4
                host = ".".join(str(b) for b in await reader.readexactly(4))
            else:  # a name
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            port = int.from_bytes(await reader.readexactly(2), "big")
            self.connected.append((host, port))
            up_reader, up_writer = await asyncio.open_connection(host, port)
            writer.write(b"\x05\x00\x00\x01" + bytes(4) + bytes(2))  # succeeded

            async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
                while piece := await source.read(65536):
                    sink.write(piece)
                    await sink.drain()
                sink.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.mark.asyncio
async def test_a_socks5_proxy_in_the_settings_carries_the_reply(fake: FakeOpenAI) -> None:
    """The settings offer socks5:// (local proxy tools often speak only SOCKS)."""
    fake.scenario = Scenario(tokens=["Through ", "SOCKS."])
    async with Socks5Proxy() as socks:
        text = await reply_text(LLMClient(fake.base_url, None, proxy=socks.url))
    assert text == "Through SOCKS."
    assert [port for _, port in socks.connected] == [urlsplit(fake.base_url).port]
