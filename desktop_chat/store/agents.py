"""Agents (presets) in the database: the rows behind engine/agents.py."""

from __future__ import annotations

from peewee import SqliteDatabase

from desktop_chat.schemas import Agent
from desktop_chat.store import convert
from desktop_chat.store.clock import db_now
from desktop_chat.store.errors import NotFoundError
from desktop_chat.store.models import AgentRow


def agent_pk(agent_id: str) -> int:
    """The row id of an agent, for foreign keys."""
    row = AgentRow.get_or_none(AgentRow.agent_id == agent_id)
    if row is None:
        raise NotFoundError("agent", agent_id)
    return int(row.id)


class Agents:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def list(self) -> list[Agent]:
        rows = AgentRow.select().order_by(AgentRow.name.collate("NOCASE"), AgentRow.id)
        return [convert.agent_from_row(r) for r in rows]

    def get(self, agent_id: str) -> Agent:
        row = AgentRow.get_or_none(AgentRow.agent_id == agent_id)
        if row is None:
            raise NotFoundError("agent", agent_id)
        return convert.agent_from_row(row)

    def find(self, name_or_id: str) -> Agent:
        row = AgentRow.get_or_none(
            (AgentRow.agent_id == name_or_id) | (AgentRow.name == name_or_id)
        )
        if row is None:
            raise NotFoundError("agent", name_or_id)
        return convert.agent_from_row(row)

    def default(self) -> Agent | None:
        row = AgentRow.select().order_by(AgentRow.is_default.desc(), AgentRow.id).first()
        return convert.agent_from_row(row) if row else None

    def save(self, agent: Agent) -> Agent:
        """Insert or update by agent_id; only one agent can be the default."""
        fields = convert.agent_to_fields(agent)
        fields["updated_at"] = db_now()
        with self.db.atomic():
            if agent.is_default:
                AgentRow.update(is_default=False).where(
                    AgentRow.agent_id != agent.agent_id
                ).execute()
            existing = AgentRow.get_or_none(AgentRow.agent_id == agent.agent_id)
            if existing is None:
                AgentRow.create(**fields)
            else:
                fields.pop("created_at")
                AgentRow.update(**fields).where(AgentRow.id == existing.id).execute()
        return self.get(agent.agent_id)

    def delete(self, agent_id: str) -> None:
        if AgentRow.delete().where(AgentRow.agent_id == agent_id).execute() == 0:
            raise NotFoundError("agent", agent_id)
