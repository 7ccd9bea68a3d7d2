"""`desktop_chat.selftest`: the check a user (or the bundle's smoke test) runs on an install.

It must pass on a healthy install, fail with a sentence when something is broken, and
never touch the user's own folders, wherever they are.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_chat import selftest
from desktop_chat.selftest import TinyOpenAI, self_test

REPO = Path(__file__).resolve().parents[1]


def _user_folders(tmp_path: Path) -> dict[str, str]:
    """An environment whose every user folder lies under tmp_path, to see what gets written."""
    user = tmp_path / "user"
    return {
        "HOME": str(user),
        "XDG_DATA_HOME": str(user / "data"),
        "XDG_CONFIG_HOME": str(user / "config"),
        "XDG_STATE_HOME": str(user / "state"),
        "XDG_CACHE_HOME": str(user / "cache"),
    }


@pytest.mark.asyncio
async def test_self_test_passes_and_reports_each_step(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code = await self_test()

    out = capsys.readouterr().out
    assert code == 0, out
    for step in ("resources:", "database:", "server:", "models:", "reply:", "search:", "keyring:"):
        assert step in out, f"{step} missing from the report:\n{out}"
    assert "4 chunks streamed and stored" in out
    assert out.rstrip().endswith("self-test passed")
    assert not home.exists(), "the self-test wrote into DESKTOP_CHAT_HOME"


@pytest.mark.asyncio
async def test_a_broken_stream_fails_with_a_sentence(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def hang_up(self: TinyOpenAI, writer: asyncio.StreamWriter, body: object) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
        writer.close()

    monkeypatch.setattr(TinyOpenAI, "_stream", hang_up)

    code = await self_test()

    out = capsys.readouterr().out
    assert code == 1
    assert "self-test FAILED: the reply did not complete: " in out
    assert "Traceback" not in out


@pytest.mark.asyncio
async def test_a_proxy_in_the_environment_is_named_when_it_hides_the_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens on port 9

    code = await self_test()

    out = capsys.readouterr().out
    assert code == 1
    assert "Cannot reach the server at http://127.0.0.1:" in out
    assert "HTTP_PROXY is set" in out and "NO_PROXY=localhost,127.0.0.1" in out


@pytest.mark.asyncio
async def test_with_no_proxy_for_local_addresses_the_proxy_is_bypassed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")

    assert await self_test() == 0, capsys.readouterr().out


@pytest.mark.asyncio
async def test_a_bundle_without_its_resources_fails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)

    code = await self_test()

    out = capsys.readouterr().out
    assert code == 1
    assert "the bundle is incomplete: the icon, the Chinese translation, the web page" in out


@pytest.mark.asyncio
async def test_missing_resources_outside_a_bundle_only_warn(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(selftest, "_resource_root", lambda: tmp_path)

    code = await self_test()

    out = capsys.readouterr().out
    assert code == 0, out
    assert "resources:   warning: the icon, the Chinese translation, the web page missing" in out


@pytest.mark.asyncio
async def test_the_server_answers_unknown_routes_with_an_openai_shaped_404() -> None:
    server = TinyOpenAI()
    await server.start()
    try:
        host, port = server.base_url.removeprefix("http://").split("/")[0].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
    finally:
        await server.stop()
    assert head.startswith(b"HTTP/1.1 404 ")


def test_self_test_in_a_fresh_interpreter_leaves_the_user_folders_alone(tmp_path: Path) -> None:
    """As the CLI runs it: a new process, Qt never imported, nothing written for the user."""
    env = {k: v for k, v in os.environ.items() if k != "DESKTOP_CHAT_HOME"}
    env.update(_user_folders(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    code = (
        "import asyncio, sys\n"
        "from desktop_chat.selftest import self_test\n"
        "code = asyncio.run(self_test())\n"
        "assert not any(m.startswith(('PySide6', 'qasync')) for m in sys.modules), 'Qt imported'\n"
        "raise SystemExit(code)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout
    assert result.stderr == "", result.stderr
    written = [p for p in (tmp_path / "user").rglob("*")] if (tmp_path / "user").exists() else []
    assert written == [], f"the self-test wrote into the user's folders: {written}"
