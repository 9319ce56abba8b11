// The page: header, the owner's chats (sidebar), and the chat named by ?chat=<id> once
// its saved messages are loaded. A new chat is only in the URL once the server has it
// (its first turn started), so reloading a chat nobody wrote in yet starts a fresh one.
import type { UIMessage } from "ai";
import { useCallback, useEffect, useRef, useState } from "react";
import {
  chatIdFromUrl,
  deleteChat,
  fetchChat,
  fetchChats,
  fetchConfig,
  initialTransport,
  keepTransport,
  newChatId,
  setChatIdInUrl,
  type ChatSummary,
  NO_CONFIG,
  type DemoConfig,
  type TransportMode,
} from "./api";
import { Chat } from "./Chat";
import { Sidebar } from "./Sidebar";

type Current =
  | { id: string; phase: "loading" }
  // resume: the chat has an answer in progress to replay; interrupted: answers whose
  // server stopped before they finished
  | { id: string; phase: "ready"; messages: UIMessage[]; resume: boolean; interrupted: string[] }
  // the server has no such chat of ours: never written in, deleted, or someone else's
  | { id: string; phase: "missing" }
  | { id: string; phase: "failed"; error: string };

function freshChat(): Current {
  return { id: newChatId(), phase: "ready", messages: [], resume: false, interrupted: [] };
}

/** The chat the URL names (to be loaded), or a fresh one. */
function fromUrl(): Current {
  const id = chatIdFromUrl();
  return id ? { id, phase: "loading" } : freshChat();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function App() {
  const [current, setCurrent] = useState<Current>(fromUrl);
  const [config, setConfig] = useState<DemoConfig>(NO_CONFIG);
  const [chats, setChats] = useState<ChatSummary[] | null>(null);
  const [chatsError, setChatsError] = useState<string | null>(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [transport, setTransport] = useState<TransportMode>(initialTransport);
  const currentId = useRef(current.id);
  currentId.current = current.id;

  useEffect(() => {
    const controller = new AbortController();
    void fetchConfig(controller.signal).then(setConfig);
    return () => controller.abort();
  }, []);

  // the owner's chats; of overlapping refreshes, the last one asked wins
  const listRequest = useRef(0);
  const refreshChats = useCallback(() => {
    const request = ++listRequest.current;
    fetchChats().then(
      (list) => {
        if (request !== listRequest.current) return;
        setChats(list);
        setChatsError(null);
      },
      (error: unknown) => {
        if (request === listRequest.current) setChatsError(messageOf(error));
      },
    );
  }, []);
  useEffect(() => {
    refreshChats();
    // chats another tab started or deleted show up when this one is used again
    window.addEventListener("focus", refreshChats);
    return () => window.removeEventListener("focus", refreshChats);
  }, [refreshChats]);

  useEffect(() => {
    if (current.phase !== "loading") return;
    const { id } = current;
    const controller = new AbortController();
    fetchChat(id, controller.signal).then(
      (saved) =>
        setCurrent(
          saved
            ? { id, phase: "ready", messages: saved.messages, resume: saved.resumable, interrupted: saved.interrupted }
            : { id, phase: "missing" },
        ),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setCurrent({ id, phase: "failed", error: messageOf(error) });
      },
    );
    return () => controller.abort();
  }, [current]);

  useEffect(() => {
    const onPopState = () => {
      const next = fromUrl();
      setCurrent((now) => (next.phase === "loading" && next.id === now.id ? now : next));
    };
    window.addEventListener("popstate", onPopState);
    return () => window.removeEventListener("popstate", onPopState);
  }, []);

  const closeSidebar = useCallback(() => setSidebarOpen(false), []);

  const newChat = useCallback(() => {
    setChatIdInUrl(null, "push");
    setCurrent(freshChat());
    setSidebarOpen(false);
  }, []);

  const select = useCallback((id: string) => {
    setSidebarOpen(false);
    if (id === currentId.current) return;
    setChatIdInUrl(id, "push");
    setCurrent({ id, phase: "loading" });
  }, []);

  const remove = useCallback(
    async (id: string) => {
      try {
        await deleteChat(id);
      } catch (error: unknown) {
        setChatsError(messageOf(error));
        return;
      }
      if (id === currentId.current) {
        setChatIdInUrl(null, "replace");
        setCurrent(freshChat());
      }
      refreshChats();
    },
    [refreshChats],
  );

  // The other transport: the chat is mounted again with it, loaded again from the server
  // if the server has it (an answer in progress is then resumed over the new transport).
  const switchTransport = useCallback((mode: TransportMode) => {
    keepTransport(mode);
    setTransport(mode);
    setCurrent((now) =>
      now.phase === "ready" && now.id === chatIdFromUrl() ? { id: now.id, phase: "loading" } : now,
    );
  }, []);

  // A turn of the current chat started (the server now has the chat: it goes into the
  // URL) or ended: the list shows it, newest first, with its title.
  const onTurn = useCallback(
    (id: string) => {
      if (id === currentId.current) setChatIdInUrl(id, "replace");
      refreshChats();
    },
    [refreshChats],
  );

  return (
    <div className="app" data-chat-id={current.id} data-transport={transport}>
      <header className="topbar">
        <div className="topbar-inner">
          <button
            type="button"
            className="button button--icon sidebar-toggle"
            data-testid="toggle-sidebar"
            aria-label={sidebarOpen ? "Hide your chats" : "Show your chats"}
            aria-controls="chat-list"
            aria-expanded={sidebarOpen}
            onClick={() => setSidebarOpen((open) => !open)}
          >
            <span aria-hidden="true">☰</span>
          </button>
          <h1 className="title">uiwire demo</h1>
          <TransportSwitch mode={transport} onSwitch={switchTransport} />
          <button
            type="button"
            className="button"
            data-testid="new-chat"
            aria-label="Start a new chat"
            onClick={newChat}
          >
            New chat
          </button>
        </div>
      </header>
      <div className="layout">
        <Sidebar
          chats={chats}
          error={chatsError}
          currentId={current.id}
          open={sidebarOpen}
          onSelect={select}
          onDelete={remove}
          onRetry={refreshChats}
          onClose={closeSidebar}
        />
        <main className="main" aria-label="Conversation">
          {current.phase === "ready" ? (
            <Chat
              key={`${transport}:${current.id}`}
              id={current.id}
              transportMode={transport}
              initialMessages={current.messages}
              resume={current.resume}
              interrupted={current.interrupted}
              config={config}
              onTurn={onTurn}
            />
          ) : (
            <div className="scroller">
              <div className="messages">
                {current.phase === "loading" ? (
                  <p className="empty" data-testid="loading">
                    Loading the conversation…
                  </p>
                ) : current.phase === "missing" ? (
                  <div className="empty not-found" data-testid="not-found" role="status">
                    <p className="not-found-title">Chat not found</p>
                    <p>It does not exist, was deleted, or belongs to someone else.</p>
                    <button type="button" className="button button--primary" onClick={newChat}>
                      Start a new chat
                    </button>
                  </div>
                ) : (
                  <div className="error" data-testid="load-error" role="alert">
                    <span className="error-text">{current.error}</span>
                    <button
                      type="button"
                      className="button button--small"
                      aria-label="Try again to load the chat"
                      onClick={() => setCurrent({ id: current.id, phase: "loading" })}
                    >
                      Try again
                    </button>
                  </div>
                )}
              </div>
            </div>
          )}
        </main>
      </div>
    </div>
  );
}

/** HTTP or WebSocket: how the chat talks to the server (kept for the next visits). */
function TransportSwitch({ mode, onSwitch }: { mode: TransportMode; onSwitch: (mode: TransportMode) => void }) {
  const choices: [TransportMode, string, string][] = [
    ["http", "HTTP", "A POST per message, the answer as server-sent events"],
    ["ws", "WebSocket", "One WebSocket for the chat's messages and answers"],
  ];
  return (
    <div className="transport-switch" role="group" aria-label="Transport" data-testid="transport-switch">
      {choices.map(([value, label, title]) => (
        <button
          key={value}
          type="button"
          className="transport-choice"
          data-testid={`transport-${value}`}
          aria-pressed={mode === value}
          title={title}
          onClick={() => {
            if (mode !== value) onSwitch(value);
          }}
        >
          {label}
        </button>
      ))}
    </div>
  );
}
