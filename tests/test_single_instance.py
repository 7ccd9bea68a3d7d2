"""One window per data folder: two instances played by two SingleInstance objects.

Both live in this one process, offscreen; what the second launch would do before its
event loop starts (connect, send, leave) runs first, and the first instance's reaction is
then awaited on the Qt event loop, as it would happen in the running window.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop_chat.ui.single_instance import SingleInstance, raise_window, server_name


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def instances(qtbot: QtBot) -> Iterator[list[SingleInstance]]:
    """Every SingleInstance a test makes, closed afterwards so no socket outlives it."""
    made: list[SingleInstance] = []
    yield made
    for instance in made:
        instance.close()


def make(instances: list[SingleInstance], data_dir: Path) -> SingleInstance:
    instance = SingleInstance(data_dir)
    instances.append(instance)
    return instance


def test_the_name_depends_on_the_folder_only_and_hides_it(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"

    assert server_name(a) == server_name(tmp_path / "x" / ".." / "a")
    assert server_name(a) != server_name(b)
    assert str(tmp_path) not in server_name(a)
    assert len(server_name(a)) < 64, "Unix socket paths are limited to about 100 bytes"


def test_a_second_launch_raises_the_first_and_steps_aside(
    qtbot: QtBot, instances: list[SingleInstance], data_dir: Path
) -> None:
    first = make(instances, data_dir)
    assert first.claim() is True
    assert first.listening

    second = make(instances, data_dir)
    with qtbot.waitSignal(first.activation_requested, timeout=5000):
        assert second.claim() is False
    assert not second.listening


def test_the_callback_is_called_on_each_later_launch(
    qtbot: QtBot, instances: list[SingleInstance], data_dir: Path
) -> None:
    calls: list[int] = []
    first = SingleInstance(data_dir, on_activate=lambda: calls.append(1))
    instances.append(first)
    assert first.claim()

    for expected in (1, 2):
        assert make(instances, data_dir).claim() is False
        qtbot.waitUntil(lambda n=expected: len(calls) == n, timeout=5000)


def test_other_data_folders_run_side_by_side(
    instances: list[SingleInstance], tmp_path: Path
) -> None:
    one = make(instances, tmp_path / "one")
    two = make(instances, tmp_path / "two")

    assert one.claim() is True
    assert two.claim() is True
    assert one.name != two.name


def test_after_the_first_closes_the_next_launch_takes_over(
    instances: list[SingleInstance], data_dir: Path
) -> None:
    first = make(instances, data_dir)
    assert first.claim()
    first.close()

    assert make(instances, data_dir).claim() is True


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes leave no file behind")
def test_a_stale_socket_from_a_crashed_instance_is_replaced(
    qtbot: QtBot,
    instances: list[SingleInstance],
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = server_name(data_dir)
    path = Path(QDir.tempPath()) / name
    QLocalServer.removeServer(name)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # bound, never listening, then closed: what a kill -9 leaves
    stale.close()
    assert path.exists()

    first = make(instances, data_dir)
    with caplog.at_level(logging.INFO, logger="desktop_chat.ui.single_instance"):
        assert first.claim() is True, "the stale socket kept the app from starting"
    assert first.listening
    assert "left behind by an earlier run" in caplog.text

    second = make(instances, data_dir)
    with qtbot.waitSignal(first.activation_requested, timeout=5000):
        assert second.claim() is False


def test_a_launch_that_loses_the_race_to_listen_defers_to_the_winner(
    qtbot: QtBot,
    instances: list[SingleInstance],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two launches at once: both find nobody, one listens first; the other must not evict it."""
    first = make(instances, data_dir)
    assert first.claim()
    second = make(instances, data_dir)
    real = SingleInstance._tell_running_instance
    asked: list[bool] = []

    def late(self: SingleInstance) -> bool:
        if not asked:  # the first look happened before `first` was listening
            asked.append(False)
            return False
        asked.append(real(self))
        return asked[-1]

    monkeypatch.setattr(SingleInstance, "_tell_running_instance", late)

    with qtbot.waitSignal(first.activation_requested, timeout=5000):
        assert second.claim() is False
    assert asked == [False, True]
    assert first.listening and not second.listening


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes have no file mode")
def test_only_the_owner_may_connect(instances: list[SingleInstance], data_dir: Path) -> None:
    first = make(instances, data_dir)
    assert first.claim()

    mode = os.stat(Path(QDir.tempPath()) / first.name).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


def test_unknown_messages_and_silent_clients_raise_nothing(
    qtbot: QtBot, instances: list[SingleInstance], data_dir: Path
) -> None:
    first = make(instances, data_dir)
    assert first.claim()
    raised: list[int] = []
    first.activation_requested.connect(lambda: raised.append(1))

    chatty = QLocalSocket()
    chatty.connectToServer(first.name)
    assert chatty.waitForConnected(1000)
    chatty.write(b"open /etc/passwd\n")
    chatty.flush()
    qtbot.waitUntil(lambda: chatty.state() == QLocalSocket.LocalSocketState.UnconnectedState)

    silent = QLocalSocket()
    silent.connectToServer(first.name)
    assert silent.waitForConnected(1000)
    qtbot.waitUntil(
        lambda: silent.state() == QLocalSocket.LocalSocketState.UnconnectedState, timeout=5000
    )  # dropped after the idle timeout

    assert raised == []


def test_raise_window_restores_a_minimized_window(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.showMinimized()

    raise_window(window)

    assert window.isVisible()
    assert not window.isMinimized()
