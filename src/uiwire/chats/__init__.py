"""Conversations kept by the server: each owner's chats and their messages.

``ChatEndpoint(agent, conversations=Conversations(SQLChatStore(url)))`` keeps every chat
in a database and believes the stored conversation, never the browser's copy of it.
"""

from uiwire._errors import ChatConflict, ChatStoreError
from uiwire.chats.memory import MemoryChatStore
from uiwire.chats.store import AnswerState, Chat, ChatInfo, ChatPage, ChatStore, TurnTicket

__all__ = [
    "AnswerState",
    "Chat",
    "ChatConflict",
    "ChatInfo",
    "ChatPage",
    "ChatStore",
    "ChatStoreError",
    "MemoryChatStore",
    "TurnTicket",
]
