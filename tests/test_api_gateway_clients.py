"""Another real OpenAI-compatible client through the gateway: simonw's `llm` command.

`llm` is installed from PyPI into a throwaway virtual environment (it brings its own
openai SDK and configuration files, which must not touch the test's environment) and
pointed at the gateway the way its documentation says to use any OpenAI-compatible
server: a model in `extra-openai-models.yaml` with an `api_base` and a key name. Slow:
the installation takes half a minute or more.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_chat.app import Core
from desktop_chat.schemas import MessageStatus
from tests.fake_openai import FakeOpenAI, Scenario
from tests.helpers import wait_until
from tests.test_api_support import running_api

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]


@pytest.fixture(scope="module")
def llm_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("llm-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "llm"]
    installed = subprocess.run(pip, capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    yield venv / "bin" / "llm"


def configure(home: Path, base: str, token: str) -> dict[str, str]:
    """An LLM_USER_PATH with one model served by the gateway, and the token as its key."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "extra-openai-models.yaml").write_text(
        f"- model_id: desktop\n  model_name: Fake\n  api_base: {base}/v1\n"
        "  api_key_name: desktop_chat\n",
        encoding="utf-8",
    )
    (home / "keys.json").write_text(json.dumps({"desktop_chat": token}), encoding="utf-8")
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    return {**os.environ, "LLM_USER_PATH": str(home), "NO_PROXY": no_proxy, "no_proxy": no_proxy}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("streamed", [True, False])
async def test_llm_cli_streams_through_the_gateway(
    llm_cli: Path, core: Core, fake: FakeOpenAI, tmp_path: Path, streamed: bool
) -> None:
    fake.scenario = Scenario(tokens=["Through", " the", " gateway"], delay=0.05)
    async with running_api(core) as api:
        env = configure(tmp_path / "llm", api.base, await api.token("llm"))
        args = [str(llm_cli), "-m", "desktop", "--system", "Be brief.", "Say hello"]
        if not streamed:
            args.append("--no-stream")
        process = await asyncio.create_subprocess_exec(
            *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
        assert out.decode().strip() == "Through the gateway"

        (sent,) = [r for r in fake.requests if r["path"].endswith("/chat/completions")]
        assert sent["body"]["model"] == "fake-model" and sent["body"]["stream"] is streamed
        assert sent["body"]["messages"] == [
            {"role": "system", "content": "You are terse."},  # the agent's prompt first
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello"},
        ]
        await wait_until(lambda: not core.gateway.active, what="the request to end")
        (record,) = await core.service.usage.records()
        assert (record.status, record.completion_tokens) == (MessageStatus.COMPLETE, 3)
