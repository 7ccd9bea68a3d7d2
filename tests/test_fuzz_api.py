"""The local API fuzzed from its own OpenAPI document with schemathesis.

A real ApiServer runs on 127.0.0.1 in a thread of its own (schemathesis calls it through
`requests`, synchronously), over a real core and the fake OpenAI server, with a valid
token. Every route but the endless SSE stream and the static page gets valid and invalid
requests; none may be answered with a 5xx, and every answer must match the document.
The number of examples is bounded, and Hypothesis is derandomized, so the run is quick
and the same each time.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from desktop_chat import __version__  # noqa: E402
from desktop_chat.api import ApiServer  # noqa: E402
from desktop_chat.api.app import ROUTES  # noqa: E402
from desktop_chat.api.openapi import build_document  # noqa: E402
from desktop_chat.app import Core  # noqa: E402
from desktop_chat.paths import AppPaths  # noqa: E402
from desktop_chat.schemas import Agent  # noqa: E402
from desktop_chat.secrets import SecretStore  # noqa: E402
from tests.fake_openai import FakeOpenAI, Scenario  # noqa: E402

EXAMPLES = 30
SCHEMA = schemathesis.openapi.from_dict(build_document(ROUTES, __version__)).exclude(
    path_regex=r"^/$|^/static/|/stream$"  # the page, its files, and streams that never end
)


@dataclass
class LiveApi:
    url: str
    token: str
    conversation: str  # one the fuzzer never deletes: replies, stops and context edits pile up
    stop: Callable[[], None]
    calls: Iterator[int] = field(default_factory=itertools.count)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def fresh_conversation(self) -> str:
        answer = requests.post(
            f"{self.url}/api/conversations", json={}, headers=self.headers, timeout=30
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    ready = threading.Event()
    found: dict[str, Any] = {}

    async def serve() -> None:
        with FakeOpenAI(scenario=Scenario(tokens=["ok"])) as fake:
            paths = AppPaths(data=root / "data", config=root / "config", logs=root / "logs")
            core = await Core.open(paths.ensure(), SecretStore(use_keyring=False))
            core.service.config.auto_title = False
            await core.service.save_agent(
                Agent(name="Fake", base_url=fake.base_url, model="m", is_default=True)
            )
            server = ApiServer(core.service, host="127.0.0.1", port=0, heartbeat=1)
            await server.start()
            _, token = await server.tokens.create("fuzz")
            kept = await core.service.create_conversation(owner="token:fuzz")
            stopping = asyncio.Event()
            loop = asyncio.get_running_loop()
            found.update(
                url=server.url,
                token=token,
                conversation=kept.id,
                stop=lambda: loop.call_soon_threadsafe(stopping.set),
            )
            ready.set()
            try:
                await stopping.wait()
            finally:
                await server.stop()
                await core.aclose()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="fuzz-api", daemon=True)
    thread.start()
    assert ready.wait(30), "the API did not start"
    live = LiveApi(**found)
    yield live
    live.stop()
    thread.join(30)


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_generated_request_without_a_server_error(
    case: Any, live_api: LiveApi
) -> None:
    # Every other example names a conversation that exists, so that the routes behind the
    # 404 (send, stop, context, delete) are reached too.
    if case.path_parameters and "id" in case.path_parameters and next(live_api.calls) % 2:
        deleting = case.method == "DELETE"
        cid = live_api.fresh_conversation() if deleting else live_api.conversation
        case.path_parameters["id"] = cid
    response = case.call(base_url=live_api.url, headers=live_api.headers, timeout=30)
    case.validate_response(
        response,
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
        ],
    )
