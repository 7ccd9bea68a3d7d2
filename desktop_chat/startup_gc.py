"""The garbage collector paused while the window or `desktop-chat ask` starts.

Start-up makes hundreds of thousands of objects that live as long as the process: the
modules, their classes (the SDK's types, pydantic's schemas), the window's widgets. The
collector walks them again and again while they are made, and finds almost nothing to
free: 155 collections took 36 ms before the window showed its content (one full
collection, 14 ms, freed 5 objects), and collections took 45 ms before `ask` printed a
reply's first byte. So it is paused from the start and resumed when the start is over,
with what start-up made moved out of its view (gc.freeze), where later full collections
no longer walk it.
"""

from __future__ import annotations

import gc


def pause() -> None:
    gc.disable()


def resume() -> None:
    """The start is over: what it made stays out of the collector's view from now on."""
    gc.freeze()
    gc.enable()
