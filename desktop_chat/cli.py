"""The `desktop-chat` command: the window by default, and headless commands for scripts.

This module only parses arguments: the window must paint before the engine, the database
and the SDK are imported, so the headless commands live in `desktop_chat.commands` and
load only when one is asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from desktop_chat import __version__, startup_gc
from desktop_chat.logs import setup_logging
from desktop_chat.paths import AppPaths, default_paths

# The reader of our output went away (`desktop-chat list | head -1`): 128 + SIGPIPE, the
# code a shell reports for any program ended that way.
EXIT_OUTPUT_CLOSED = 141


# `desktop-chat list` without options: a screenful, not ten thousand lines to wait for.
LIST_DEFAULT = 50


def _count(text: str) -> int:
    """A whole number of at least 0, for --limit and --offset."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="desktop-chat",
        description="Chat with OpenAI and any OpenAI-compatible server. "
        "With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"desktop_chat {__version__}")
    parser.add_argument("--debug", action="store_true", help="log at debug level, also to stderr")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this installation works (database, streaming, search) in a "
        "temporary folder, without touching your data, then exit",
    )
    sub = parser.add_subparsers(dest="command")

    agents = sub.add_parser("agents", help="list, add, edit or remove agents").add_subparsers(
        dest="action", required=True
    )
    agents.add_parser("list", help="list agents")
    for name in ("add", "edit"):
        p = agents.add_parser(name, help=f"{name} an agent")
        if name == "edit":
            p.add_argument("agent", help="name or id of the agent to edit")
        p.add_argument("--name", required=name == "add")
        p.add_argument("--base-url", required=name == "add", help="e.g. http://localhost:11434/v1")
        p.add_argument("--model", required=name == "add")
        p.add_argument("--provider")
        p.add_argument("--system", help="a system prompt (the preset's first message)")
        p.add_argument("--temperature", type=float)
        p.add_argument("--max-tokens", type=int)
        p.add_argument("--default", action="store_true", help="make it the default agent")
        p.add_argument(
            "--vision",
            action=argparse.BooleanOptionalAction,
            help="whether its model reads images (default: guessed from the provider)",
        )
        p.add_argument(
            "--tools",
            metavar="all|none|SERVER,...",
            help="the MCP servers whose tools it may call (default: all)",
        )
        key = p.add_mutually_exclusive_group()
        key.add_argument("--key-env", metavar="VAR", help="read the API key from this variable")
        key.add_argument("--key-stdin", action="store_true", help="read the API key from stdin")
    remove = agents.add_parser("remove", help="remove an agent (its conversations stay)")
    remove.add_argument("agent")

    ask = sub.add_parser("ask", help="ask a question, stream the reply to stdout and store it")
    ask.add_argument("text", help="the message; '-' reads it from stdin")
    ask.add_argument("--agent", help="agent name or id (default: the default agent)")
    ask.add_argument("--conversation", help="continue this conversation id")
    ask.add_argument(
        "--attach",
        metavar="FILE",
        action="append",
        default=[],
        help="send a file with the message (an image, a text file or a PDF); repeatable",
    )
    ask.add_argument(
        "--allow-tools",
        action="store_true",
        help="let every tool call run without asking (default: ask on a terminal, else refuse)",
    )

    regenerate = sub.add_parser(
        "regenerate",
        help="answer the last question of a conversation again, keeping the earlier answer",
    )
    regenerate.add_argument("conversation", help="the conversation id")
    regenerate.add_argument(
        "--message", type=int, help="the reply to answer again (default: the last one)"
    )
    fork = sub.add_parser(
        "fork", help="copy a conversation up to a message into a new one (prints its id)"
    )
    fork.add_argument("conversation", help="the conversation id")
    fork.add_argument("--at", type=int, required=True, help="the last message id to copy")

    listing = sub.add_parser(
        "list", help=f"list conversations, the newest {LIST_DEFAULT} (--all for every one)"
    )
    page = listing.add_mutually_exclusive_group()
    page.add_argument("--all", action="store_true", help="list every conversation")
    page.add_argument(
        "--limit", type=_count, default=LIST_DEFAULT, help=f"how many (default {LIST_DEFAULT})"
    )
    listing.add_argument("--offset", type=_count, default=0, help="skip this many first")
    mcp = sub.add_parser("mcp", help="add, list, import or remove MCP servers (tools)")
    actions = mcp.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add",
        help="add a server: NAME -- COMMAND [ARGS...] or NAME --url URL",
        usage="desktop-chat mcp add NAME [OPTIONS] (-- COMMAND [ARGS...] | --url URL)",
    )
    add.add_argument("name")
    add.add_argument("--url", help="a streamable HTTP server's address")
    add.add_argument(
        "--header", action="append", default=[], metavar="K=V", help="kept in the keyring"
    )
    add.add_argument("--env", action="append", default=[], metavar="K=V")
    add.add_argument("--cwd", help="the folder the command runs in")
    add.add_argument("--disabled", action="store_true", help="add it turned off")
    add.set_defaults(server_command=[])  # what follows `--` (see _split_server_command)
    actions.add_parser("list", help="list the servers and their tools (starts them)")
    actions.add_parser("remove", help="remove a server and its header values").add_argument("name")
    actions.add_parser("import", help="import an mcpServers JSON file").add_argument("file")
    backup = sub.add_parser(
        "backup", help="back up the conversation database now (into the data folder's backups/)"
    )
    backup.add_argument("--list", action="store_true", help="list the backups instead")
    restore = sub.add_parser(
        "restore",
        help="put a backup in the database's place (what it replaces is backed up first)",
    )
    restore.add_argument("file", type=Path, help="the backup: a path, or a name in backups/")
    sub.add_parser(
        "repair",
        help="rebuild the search index when desktop_chat says it is damaged "
        "(conversations are kept)",
    )

    export = sub.add_parser("export", help="export conversations to stdout")
    export.add_argument("ids", nargs="*", help="conversation ids (default: all)")
    export.add_argument("--format", choices=("json", "md"), default="json")
    export.add_argument(
        "--output",
        type=Path,
        help="write to this file instead of stdout (Markdown: attachments beside it)",
    )

    imp = sub.add_parser("import", help="import conversations from a JSON file")
    imp.add_argument("file", type=Path)

    serve = sub.add_parser("serve", help="run the local HTTP + SSE API, without the window")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port to listen on (8765; 0: any)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that other machines can reach (every client still needs a token)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also accept this name in the Host header (e.g. the machine's network name)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages from this origin (e.g. http://localhost:5173) call the API",
    )
    serve.add_argument(
        "--heartbeat", type=float, default=15.0, help="seconds between SSE keep-alive comments"
    )

    tokens = sub.add_parser("tokens", help="create, list or revoke API tokens").add_subparsers(
        dest="action", required=True
    )
    create = tokens.add_parser("create", help="create a token (printed once) for a client")
    create.add_argument("name", help="the client's name, e.g. notes-script")
    create.add_argument(
        "--agents",
        metavar="A,B",
        help="the agents (names or ids) it may use through /v1/chat/completions (default: all)",
    )
    create.add_argument(
        "--store-conversations",
        action="store_true",
        help="keep its /v1/chat/completions requests as conversations (default: not kept)",
    )
    tokens.add_parser("list", help="list tokens: names, dates, agents (never the tokens)")
    revoke = tokens.add_parser("revoke", help="revoke a token; its client is locked out at once")
    revoke.add_argument("name")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; a closed output pipe ends it quietly, as Python's docs advise."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, not at exit, where a closed pipe could only be ignored
    except BrokenPipeError:
        # Later writes (the interpreter's own flush at exit) go nowhere instead of failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OUTPUT_CLOSED
    return code


def _split_server_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """`mcp add NAME [OPTIONS] -- COMMAND [ARGS...]`: the server's command is kept whole,
    its own options included, out of argparse's reach."""
    if "--" in argv:
        cut = argv.index("--")
        if "mcp" in argv[:cut]:
            return argv[:cut], argv[cut + 1 :]
    return argv, []


def _run(argv: list[str] | None) -> int:
    head, server_command = _split_server_command(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(head)
    if server_command:
        args.server_command = server_command
    if args.self_test:  # before any user folder is created or the log file is opened
        from desktop_chat.selftest import self_test

        return asyncio.run(self_test())
    paths = default_paths()
    # A read-only home folder: opening says so in words (or reads it read-only) later.
    with contextlib.suppress(OSError):
        paths.ensure()
    setup_logging(paths.log_file, debug=args.debug)
    if args.command is None:
        startup_gc.pause()  # until the window has opened (ui/main.py resumes it)
        try:
            return _window(paths, debug=args.debug)
        finally:
            startup_gc.resume()  # if it did not open
    if args.command in ("ask", "regenerate"):
        startup_gc.pause()  # until the SDK has loaded
        _preload_sdk()
    from desktop_chat.commands import run_command

    return run_command(args)


def _window(paths: AppPaths, debug: bool) -> int:
    from desktop_chat.ui.display import display_problem

    problem = display_problem()
    if problem is not None:  # Qt would abort with a misleading hint
        print(problem, file=sys.stderr)
        return 4
    from desktop_chat.ui.main import run_gui  # Qt is imported only for the window

    return run_gui(paths, debug=debug)


def _preload_sdk() -> None:
    """Import the openai SDK in a thread now, while the engine loads and the database opens.

    A reply's first byte waits for the SDK (0.3-0.6 s to import) after the command has
    opened the core and stored the question; both sides also wait on files and SQLite,
    which lets the other run. The request takes the module as soon as it is loaded.
    """
    import threading

    from desktop_chat.llm import load_sdk

    def load() -> None:
        try:
            load_sdk()
        finally:
            startup_gc.resume()

    threading.Thread(target=load, name="desktop_chat-sdk-import", daemon=True).start()
