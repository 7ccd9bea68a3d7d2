"""Code whose lexer is not compiled yet is shown plain at once, then in colours (#19).

Compiling a lexer takes tens of milliseconds of pure Python; on the GUI thread that was a
stall while the first conversation opened or a reply streamed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from desktop_chat.schemas import Message
from desktop_chat.ui import lexers
from desktop_chat.ui.message_widget import MessageWidget
from tests.gui_support import CoreOnLoop, WindowOnLoop
from tests.helpers import wait_until

COLOURED = '<span style="color'


def _forget(language: str) -> None:
    """As in a new process: this language's lexer was never compiled."""
    lexers._lexers.pop(language, None)


def test_a_stored_message_shows_its_code_plain_then_in_colours(qtbot):
    _forget("fortran")
    text = "Here:\n\n```fortran\nprogram hello\n  print *, 'hi'\nend program hello\n```\n"
    widget = MessageWidget(Message(id=1, role="assistant", content=text), dark=False)
    qtbot.addWidget(widget)
    widget.show()
    assert widget.rendered.waiting and COLOURED not in widget.rendered.html
    assert "program hello" in widget.body.toPlainText()
    qtbot.waitUntil(lambda: not widget.rendered.waiting, timeout=10_000)
    assert lexers.is_compiled("fortran")
    assert COLOURED in widget.rendered.html and "program hello" in widget.body.toPlainText()


def test_a_streamed_code_block_goes_in_once_its_lexer_is_compiled(qtbot):
    _forget("erlang")
    widget = MessageWidget(None, dark=False)
    qtbot.addWidget(widget)
    widget.show()
    widget.stream_update("```erlang\nhello() -> ok.\n```\n\nNext", "")
    assert widget._streamed.rendered_upto == 0, "the piece waited instead of compiling here"
    assert "hello() -> ok." in widget.body.toPlainText()
    qtbot.waitUntil(lambda: widget._streamed.rendered_upto > 0, timeout=10_000)
    shown = widget.body.toPlainText()
    assert "```" not in shown and "hello() -> ok." in shown and shown.rstrip().endswith("Next")
    assert widget.rendered.code_blocks == ["hello() -> ok."]


@pytest.mark.asyncio
async def test_the_window_compiles_no_lexer_before_its_content_has_painted(
    qapp, paths, secrets, agent
):
    """A compiling worker would take the interpreter from the GUI thread while the window
    builds what the person waits for; the code shows plain until then either way."""
    _forget("ocaml")
    async with CoreOnLoop(paths, secrets, agent) as core:
        conv = await core.service.create_conversation(title="Code")
        answer = Message(role="assistant", content="```ocaml\nlet x = 1\n```\n")
        await core.store.run(lambda r: r.messages.append(conv.id, answer))
        events: list[str] = []
        lexers.compiled().connect(lambda: events.append("compiled"))
        async with WindowOnLoop(core) as window:
            window.when_content_painted(lambda: events.append("content painted"))
            await wait_until(lambda: "compiled" in events, what="the lexer compiles")
            [shown] = window.chat.message_widgets
            await wait_until(lambda: COLOURED in shown.rendered.html, what="colours")

        assert events[0] == "content painted"


RACE = """
import threading
from desktop_chat.ui import lexers, markdown

start = threading.Barrier(3)
failures = []

def run(ask):
    start.wait()
    try:
        ask()
    except Exception as exc:
        failures.append(repr(exc))

asks = (
    lambda: markdown._highlight("x = 1", "python", markdown.LIGHT),  # the GUI thread
    markdown.warm_up,  # the warm-up thread
    lambda: lexers.lexer("css"),  # the lexer worker
)
threads = [threading.Thread(target=run, args=(ask,)) for ask in asks]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(failures or "ok")
"""


def test_pygments_loads_when_three_threads_ask_for_it_at_once():
    """Pygments loads with the first lexer; the window's three threads may ask at once.

    A race: each attempt is a new interpreter (Pygments not loaded yet); without the lock
    about two attempts in three failed with an ImportError."""
    for _ in range(6):
        done = subprocess.run(
            [sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60
        )
        assert done.stdout.strip() == "ok", done.stdout + done.stderr
