"""A real MCP server for the tests, written with the SDK's MCPServer (FastMCP before 2.x).

Run as a subprocess over stdio (`python -m tests.mcp_test_server`), or with
`--http PORT` over streamable HTTP on 127.0.0.1. Its tools cover what the reply loop
must handle: an answer, a slow call (timeouts, Stop), a crash, an error, a large result.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("test-tools")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two whole numbers."""
    return str(a + b)


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


@server.tool()
def slow(seconds: float) -> str:
    """Wait, then answer."""
    time.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool()
def crash() -> str:
    """End the server process at once, as a crashing server does."""
    os._exit(3)


@server.tool()
def fail(reason: str) -> str:
    """Raise an error the server reports as the tool's failure."""
    raise ValueError(reason)


@server.tool()
def big(size: int) -> str:
    """A result of `size` characters."""
    return "y" * size


@server.tool()
def where() -> str:
    """The working folder and the TEST_MCP_GREETING variable, to check the settings."""
    return f"{os.getcwd()} {os.environ.get('TEST_MCP_GREETING', '')}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, help="serve streamable HTTP on this port")
    args = parser.parse_args(argv)
    if args.http is not None:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()


if __name__ == "__main__":
    sys.exit(main())
