// The page: header, and the chat named by ?chat=<id> once its saved messages are loaded.
import type { UIMessage } from "ai";
import { useCallback, useEffect, useState } from "react";
import { chatIdFromUrl, fetchChat, fetchPrompts, newChatId, setChatIdInUrl, type DemoPrompt } from "./api";
import { Chat } from "./Chat";

type Current =
  | { id: string; phase: "loading" }
  // resume: the chat was loaded from the server and may have an answer in progress; a
  // chat this page just made up has none
  | { id: string; phase: "ready"; messages: UIMessage[]; resume: boolean }
  | { id: string; phase: "failed"; error: string };

/** The chat the URL names (to be loaded), or a new one put in the URL (also in place of
 * an id the server would refuse). */
function fromUrl(): Current {
  const id = chatIdFromUrl();
  if (id) return { id, phase: "loading" };
  const fresh = newChatId();
  setChatIdInUrl(fresh, "replace");
  return { id: fresh, phase: "ready", messages: [], resume: false };
}

export function App() {
  const [current, setCurrent] = useState<Current>(fromUrl);
  const [prompts, setPrompts] = useState<DemoPrompt[]>([]);

  useEffect(() => {
    const controller = new AbortController();
    void fetchPrompts(controller.signal).then(setPrompts);
    return () => controller.abort();
  }, []);

  useEffect(() => {
    if (current.phase !== "loading") return;
    const { id } = current;
    const controller = new AbortController();
    fetchChat(id, controller.signal).then(
      (messages) => setCurrent({ id, phase: "ready", messages: messages ?? [], resume: true }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setCurrent({ id, phase: "failed", error: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => controller.abort();
  }, [current]);

  useEffect(() => {
    const onPopState = () => {
      const next = fromUrl();
      setCurrent((now) => (next.id === now.id ? now : next));
    };
    window.addEventListener("popstate", onPopState);
    return () => window.removeEventListener("popstate", onPopState);
  }, []);

  const newChat = useCallback(() => {
    const id = newChatId();
    setChatIdInUrl(id, "push");
    setCurrent({ id, phase: "ready", messages: [], resume: false });
  }, []);

  return (
    <div className="app" data-chat-id={current.id}>
      <header className="topbar">
        <div className="topbar-inner">
          <h1 className="title">uiwire demo</h1>
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
      {current.phase === "ready" ? (
        <Chat
          key={current.id}
          id={current.id}
          initialMessages={current.messages}
          resume={current.resume}
          prompts={prompts}
        />
      ) : (
        <div className="scroller">
          <div className="messages">
            {current.phase === "loading" ? (
              <p className="empty" data-testid="loading">
                Loading the conversation…
              </p>
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
    </div>
  );
}
