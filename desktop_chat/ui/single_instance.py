"""One window per data folder: a second launch brings the running window forward and exits.

Two windows on one database would both stream into it and both keep a crash journal, and
each would "recover" the other's replies in flight as interrupted at its next start. So
the first instance listens on a local socket (a named pipe on Windows) whose name is
derived from the data folder, and a later launch for the same folder only asks it to
raise its window. Different `DESKTOP_CHAT_HOME` folders get different names, so portable
installs and tests run side by side.

The name is a hash: socket paths are short (about 100 bytes on Unix) and a user's folder
path has no business in /tmp. The user's name goes into the hash too, so two people
sharing a folder path never reach each other's socket. A socket file left behind by a
crashed instance refuses connections; it is removed and listened on again.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QWidget

from desktop_chat import APP_NAME

log = logging.getLogger(__name__)

RAISE = b"raise"
CONNECT_TIMEOUT_MS = 500  # a live instance answers in microseconds; this is for a busy one
WRITE_TIMEOUT_MS = 1000
MAX_MESSAGE = 256  # a message is one short word; anything longer is not ours
IDLE_TIMEOUT_MS = 2000  # a client that connects and says nothing is dropped


def server_name(data_dir: Path) -> str:
    """The socket name for one data folder and one user: stable, short, and path-free."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers): fall back to the uid
        user = str(os.getuid()) if hasattr(os, "getuid") else ""
    folder = os.path.normcase(str(Path(data_dir).expanduser().resolve()))
    digest = hashlib.sha256(f"{user}\0{folder}".encode()).hexdigest()[:24]
    return f"{APP_NAME}-{digest}"


def raise_window(window: QWidget) -> None:
    """Bring `window` to the front as far as the window system allows.

    Some window managers (and Wayland) refuse to let an app take focus on its own; the
    taskbar entry then asks for attention instead, which is the most an app may do there.
    """
    if window.isMinimized():
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
    QApplication.alert(window)


class SingleInstance(QObject):
    """The first instance's listener, or the second instance's messenger.

    Call `claim()` once a QApplication exists and before the window is built: True means
    this process is the one instance (keep the object alive; `activation_requested` fires
    whenever a later launch asks for the window); False means another instance got the
    message and this process should exit 0.
    """

    activation_requested = Signal()

    def __init__(
        self,
        data_dir: Path,
        on_activate: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self._server: QLocalServer | None = None
        if on_activate is not None:
            self.activation_requested.connect(on_activate)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def claim(self) -> bool:
        """Become the instance for this folder, or hand over to the one that already is."""
        if self._tell_running_instance():
            return False
        server = self._new_server()
        if server.listen(self.name):
            return self._listening(server)
        if server.serverError() == QAbstractSocket.SocketError.AddressInUseError:
            # The name is taken: by an instance that started since we asked (two quick
            # launches), or by a socket file a crashed instance left behind. Only the first
            # answers; only the second may be removed.
            if self._tell_running_instance():
                return False
            QLocalServer.removeServer(self.name)
            if server.listen(self.name):
                log.info("Replaced a single-instance socket left behind by an earlier run")
                return self._listening(server)
        log.warning(
            "Cannot make sure only one window runs for this data folder (%s); continuing",
            server.errorString(),
        )
        server.deleteLater()
        return True  # never keep the user out of the app over this

    def close(self) -> None:
        """Stop listening (removes the socket file); a later launch then starts normally."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None

    # The second instance -------------------------------------------------------------

    def _tell_running_instance(self) -> bool:
        """Send `raise` to a listening instance; False when no instance is listening.

        The wait is blocking on purpose: it runs before the event loop starts, and a
        connection to a live local socket completes at once (the kernel accepts it even
        while the other instance is busy), so nothing here waits on the other's loop.
        """
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write(RAISE + b"\n")
        sent = socket.waitForBytesWritten(WRITE_TIMEOUT_MS) or socket.bytesToWrite() == 0
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(WRITE_TIMEOUT_MS)
        if sent:
            log.info("Another window runs for this data folder; asked it to come forward")
        else:
            log.warning("Another window runs for this data folder but did not take the message")
        return True

    # The first instance --------------------------------------------------------------

    def _new_server(self) -> QLocalServer:
        server = QLocalServer(self)
        if sys.platform == "win32":
            # A named pipe is open to every local user unless asked otherwise. (On Unix
            # this option makes Qt rename its socket over any existing file, a live
            # instance's included, so there the file mode does the job instead.)
            server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.newConnection.connect(self._accept)
        return server

    def _listening(self, server: QLocalServer) -> bool:
        self._server = server
        if sys.platform != "win32":
            with contextlib.suppress(OSError):  # connecting needs write access: owner only
                os.chmod(server.fullServerName(), 0o600)
        return True

    def _accept(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            self._watch(socket)

    def _watch(self, socket: QLocalSocket) -> None:
        """Read one line from a later launch, act on it once, and hang up."""
        buffer = bytearray()
        handled = False

        def read() -> None:
            if socket.isOpen():
                buffer.extend(socket.readAll().data())
            if b"\n" in buffer or len(buffer) > MAX_MESSAGE:
                finish()

        def finish() -> None:
            nonlocal handled
            if handled:
                return
            handled = True
            # After abort() (the idle timeout) the socket still says it is open while its
            # connection is closed, and reading it warns "device not open": read only
            # what has arrived.
            if socket.bytesAvailable():
                buffer.extend(socket.readAll().data())
            message = bytes(buffer).split(b"\n", 1)[0].strip()
            if message == RAISE:
                self.activation_requested.emit()
            elif message:
                log.info("Ignored an unknown single-instance message (%d bytes)", len(message))
            socket.abort()

        socket.readyRead.connect(read)
        socket.disconnected.connect(finish)
        socket.disconnected.connect(socket.deleteLater)
        QTimer.singleShot(IDLE_TIMEOUT_MS, socket, socket.abort)
        if socket.bytesAvailable():  # the whole message may have arrived with the connection
            read()
