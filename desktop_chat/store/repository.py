"""The store's operations, by subject. They run only on the store's worker thread.

`Store.run(lambda r: r.conversations.get(cid))`: each subject is a small class over the
one connection, so a caller names what it reads or writes, and each module stays about
one table.
"""

from __future__ import annotations

from peewee import SqliteDatabase

from desktop_chat.store.agents import Agents
from desktop_chat.store.conversations import Conversations
from desktop_chat.store.files import Files, database_file, files_folder
from desktop_chat.store.mcp_servers import McpServers
from desktop_chat.store.messages import Messages
from desktop_chat.store.tokens import ApiTokens
from desktop_chat.store.usage import Usage


class Repository:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        self.agents = Agents(db)
        self.usage = Usage(db)
        self.files = Files(db, files_folder(database_file(db)))
        self.messages = Messages(db, self.usage, self.files)
        self.conversations = Conversations(db, self.messages)
        self.tokens = ApiTokens(db)
        self.mcp_servers = McpServers(db)
