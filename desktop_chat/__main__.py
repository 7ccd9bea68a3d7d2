"""`python -m desktop_chat` behaves exactly like the `desktop-chat` command."""

from desktop_chat.cli import main

raise SystemExit(main())
