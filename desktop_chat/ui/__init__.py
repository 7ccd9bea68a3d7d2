"""The Qt window: a thin client of the engine. The only package that imports Qt.

Importing it loads PySide6 and makes PySide6's check after every later import cheaper
(ui/pyside_import_check.py): the window's own modules, the engine and the SDK all load
after this package.
"""

import PySide6.QtCore  # noqa: F401  (the check exists once PySide6 is loaded)

from desktop_chat.ui.pyside_import_check import install

install()
