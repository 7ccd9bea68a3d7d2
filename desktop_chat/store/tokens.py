"""Clients of the local API: their names, token hashes and rights, never the tokens."""

from __future__ import annotations

import json

from peewee import SqliteDatabase

from desktop_chat.schemas import ApiToken
from desktop_chat.store import convert
from desktop_chat.store.clock import db_now
from desktop_chat.store.errors import NotFoundError, StoreError
from desktop_chat.store.models import ApiTokenRow


class ApiTokens:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def create(
        self,
        name: str,
        token_hash: str,
        agents: list[str] | None = None,
        store_conversations: bool = False,
    ) -> ApiToken:
        """Store a new client under a name not yet in use, with what it may do."""
        if ApiTokenRow.get_or_none(ApiTokenRow.name == name) is not None:
            raise StoreError(
                "exists",
                f"An API token named {name!r} already exists; revoke it first or pick "
                "another name.",
            )
        row = ApiTokenRow.create(
            name=name,
            hash=token_hash,
            created_at=db_now(),
            agents=json.dumps(agents) if agents is not None else None,
            store_conversations=store_conversations,
        )
        return _api_token(row)

    def list(self) -> list[ApiToken]:
        return [_api_token(r) for r in ApiTokenRow.select().order_by(ApiTokenRow.name)]

    def with_hashes(self) -> list[tuple[ApiToken, str]]:
        """Every client with its hash, for a constant-time comparison done by the caller."""
        return [(_api_token(r), r.hash) for r in ApiTokenRow.select()]

    def revoke(self, name: str) -> None:
        if ApiTokenRow.delete().where(ApiTokenRow.name == name).execute() == 0:
            raise NotFoundError("API token", name)

    def touch(self, name: str) -> None:
        ApiTokenRow.update(last_used_at=db_now()).where(ApiTokenRow.name == name).execute()


def _api_token(row: ApiTokenRow) -> ApiToken:
    used = row.last_used_at
    return ApiToken(
        name=row.name,
        created_at=convert.from_db_time(row.created_at),
        last_used_at=convert.from_db_time(used) if used is not None else None,
        agents=json.loads(row.agents) if row.agents is not None else None,
        store_conversations=row.store_conversations,
    )
