"""MCP servers in the database: how to start or reach each one, never its secret values
(headers, environment: see engine/tools.py)."""

from __future__ import annotations

import json

from peewee import SqliteDatabase

from desktop_chat.schemas import McpServer
from desktop_chat.store import convert
from desktop_chat.store.clock import db_now
from desktop_chat.store.errors import NotFoundError
from desktop_chat.store.models import McpServerRow


class McpServers:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def list(self) -> list[McpServer]:
        rows = McpServerRow.select().order_by(McpServerRow.name.collate("NOCASE"))
        return [_server(r) for r in rows]

    def get(self, name: str) -> McpServer:
        row = McpServerRow.get_or_none(McpServerRow.name == name)
        if row is None:
            raise NotFoundError("MCP server", name)
        return _server(row)

    def save(self, server: McpServer) -> McpServer:
        """Insert or update by name (header values are not stored: see McpServer)."""
        fields = {
            "transport": server.transport,
            "command": server.command,
            "args": json.dumps(server.args, ensure_ascii=False),
            "secret_env": json.dumps(server.secret_env, ensure_ascii=False),
            "cwd": server.cwd,
            "url": server.url,
            "secret_headers": json.dumps(server.secret_headers, ensure_ascii=False),
            "enabled": server.enabled,
        }
        with self.db.atomic():
            row = McpServerRow.get_or_none(McpServerRow.name == server.name)
            if row is None:
                row = McpServerRow.create(name=server.name, created_at=db_now(), **fields)
            else:
                McpServerRow.update(**fields).where(McpServerRow.id == row.id).execute()
        return self.get(server.name)

    def remove(self, name: str) -> None:
        if McpServerRow.delete().where(McpServerRow.name == name).execute() == 0:
            raise NotFoundError("MCP server", name)


def _server(row: McpServerRow) -> McpServer:
    return McpServer(
        name=row.name,
        transport=row.transport,
        command=row.command,
        args=json.loads(row.args),
        secret_env=json.loads(row.secret_env),
        cwd=row.cwd,
        url=row.url,
        secret_headers=json.loads(row.secret_headers),
        enabled=bool(row.enabled),
        created_at=convert.from_db_time(row.created_at),
    )
