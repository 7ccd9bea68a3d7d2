"""Usage records: one per request sent upstream, kept when conversations are deleted."""

from __future__ import annotations

from datetime import datetime

from peewee import SqliteDatabase

from desktop_chat.schemas import ModelUsage, UsageRecord, UsageStats
from desktop_chat.store import convert
from desktop_chat.store.models import ConversationRow, UsageRow


class Usage:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def record(self, usage: UsageRecord) -> None:
        data = usage.model_dump()
        UsageRow.create(
            conversation_session_id=data.pop("conversation_id"),
            **{
                **data,
                "status": usage.status.value,
                "created_at": convert.to_db_time(usage.created_at),
            },
        )

    def list(self, since: datetime | None = None, owner: str | None = None) -> list[UsageRecord]:
        """Requests since `since`, oldest first; `owner` keeps only its conversations'."""
        query = UsageRow.select().order_by(UsageRow.created_at)
        if since is not None:
            query = query.where(UsageRow.created_at >= convert.to_db_time(since))
        if owner is not None:
            query = query.join(
                ConversationRow, on=(UsageRow.conversation_session_id == ConversationRow.session_id)
            ).where(ConversationRow.owner == owner)
        return [
            UsageRecord(
                conversation_id=r.conversation_session_id,
                agent_id=r.agent_id,
                model=r.model,
                status=r.status,
                prompt_tokens=r.prompt_tokens,
                completion_tokens=r.completion_tokens,
                ttft_ms=r.ttft_ms,
                duration_ms=r.duration_ms,
                error_kind=r.error_kind,
                created_at=convert.from_db_time(r.created_at),
            )
            for r in query
        ]

    def stats(self, owner: str | None = None) -> UsageStats:
        """Requests, tokens and failures per model; `owner` counts only its conversations.

        A scoped count joins the conversation table, so the usage of a deleted
        conversation is still in the totals for everyone but no longer in its owner's.
        """
        failed = "SUM(CASE WHEN u.status = 'failed' THEN 1 ELSE 0 END)"
        sql = (
            "SELECT u.model, COUNT(*), COALESCE(SUM(u.prompt_tokens), 0),"
            f" COALESCE(SUM(u.completion_tokens), 0), {failed} FROM usage u"
        )
        params: list[object] = []
        if owner is not None:
            sql += " JOIN conversation c ON c.session_id = u.conversation_session_id"
            sql += " WHERE c.owner = ?"
            params.append(owner)
        sql += " GROUP BY u.model ORDER BY COUNT(*) DESC, u.model"
        by_model = [
            ModelUsage(
                model=model,
                requests=requests,
                prompt_tokens=prompt,
                completion_tokens=completion,
                errors=errors or 0,
            )
            for model, requests, prompt, completion, errors in self.db.execute_sql(sql, params)
        ]
        return UsageStats(
            requests=sum(m.requests for m in by_model),
            prompt_tokens=sum(m.prompt_tokens for m in by_model),
            completion_tokens=sum(m.completion_tokens for m in by_model),
            errors=sum(m.errors for m in by_model),
            by_model=by_model,
        )
