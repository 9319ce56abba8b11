// The owner's chats: newest first, the current one marked, each a link to switch to it
// and a delete button that asks first. On narrow screens a drawer the header opens.
import { useEffect, useRef, useState } from "react";
import { chatUrl, type ChatSummary } from "./api";

export function Sidebar({
  chats,
  error,
  currentId,
  open,
  onSelect,
  onDelete,
  onRetry,
  onClose,
}: {
  /** null while the first list loads. */
  chats: ChatSummary[] | null;
  /** Why the list could not be loaded or a chat deleted, if it could not. */
  error: string | null;
  currentId: string;
  /** The drawer is open (narrow screens; wide ones always show the list). */
  open: boolean;
  onSelect: (id: string) => void;
  onDelete: (id: string) => Promise<void>;
  onRetry: () => void;
  onClose: () => void;
}) {
  const nav = useRef<HTMLElement>(null);

  // the drawer (narrow screens): opening it moves the focus into it, Escape closes it
  useEffect(() => {
    if (!open) return;
    const target =
      nav.current?.querySelector<HTMLElement>('[aria-current="page"]') ??
      nav.current?.querySelector<HTMLElement>("a, button");
    target?.focus();
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !event.defaultPrevented) onClose();
    };
    document.addEventListener("keydown", onKeyDown);
    const drawer = nav.current;
    return () => {
      document.removeEventListener("keydown", onKeyDown);
      // closed with the focus inside: back to the button that opens it
      if (drawer?.contains(document.activeElement)) {
        document.querySelector<HTMLElement>('[aria-controls="chat-list"]')?.focus();
      }
    };
  }, [open, onClose]);

  return (
    <>
      <nav
        ref={nav}
        id="chat-list"
        className={`sidebar${open ? " sidebar--open" : ""}`}
        data-testid="sidebar"
        aria-label="Your chats"
      >
        <h2 className="sidebar-title">Chats</h2>
        {error ? (
          <div className="sidebar-error" data-testid="chats-error" role="alert">
            <span>{error}</span>
            <button type="button" className="button button--small" onClick={onRetry}>
              Try again
            </button>
          </div>
        ) : null}
        {chats === null ? (
          error ? null : (
            <p className="sidebar-empty" data-testid="chats-loading">
              Loading your chats…
            </p>
          )
        ) : chats.length === 0 ? (
          <p className="sidebar-empty" data-testid="no-chats">
            No chats yet. Send a message to start one.
          </p>
        ) : (
          <ul className="chat-list" data-testid="chat-list">
            {chats.map((chat) => (
              <ChatItem
                key={chat.id}
                chat={chat}
                current={chat.id === currentId}
                onSelect={onSelect}
                onDelete={onDelete}
              />
            ))}
          </ul>
        )}
      </nav>
      {open ? (
        <button
          type="button"
          className="sidebar-backdrop"
          aria-label="Close the chat list"
          tabIndex={-1}
          onClick={onClose}
        />
      ) : null}
    </>
  );
}

function ChatItem({
  chat,
  current,
  onSelect,
  onDelete,
}: {
  chat: ChatSummary;
  current: boolean;
  onSelect: (id: string) => void;
  onDelete: (id: string) => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);
  const title = chat.title || "Untitled chat";

  // focus goes back to the delete button when the question is cancelled
  useEffect(() => {
    if (wasConfirming.current && !confirming) deleteButton.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  return (
    <li
      className={`chat-item${current ? " chat-item--current" : ""}`}
      data-testid="chat-item"
      data-chat-id={chat.id}
      data-current={current ? "true" : "false"}
    >
      {confirming ? (
        <div
          className="chat-confirm"
          role="group"
          aria-label={`Delete the chat “${title}”?`}
          onKeyDown={(event) => {
            if (event.key === "Escape") {
              event.preventDefault(); // closes the question, not the drawer
              setConfirming(false);
            }
          }}
        >
          <span className="chat-confirm-text">Delete “{title}”?</span>
          <span className="chat-confirm-actions">
            <button
              type="button"
              className="button button--small button--danger"
              data-testid="confirm-delete"
              disabled={deleting}
              autoFocus
              onClick={() => {
                setDeleting(true);
                void onDelete(chat.id).finally(() => {
                  setDeleting(false);
                  setConfirming(false);
                });
              }}
            >
              Delete
            </button>
            <button
              type="button"
              className="button button--small"
              data-testid="cancel-delete"
              disabled={deleting}
              onClick={() => setConfirming(false)}
            >
              Cancel
            </button>
          </span>
        </div>
      ) : (
        <>
          <a
            className="chat-link"
            href={chatUrl(chat.id)}
            data-testid="chat-link"
            aria-current={current ? "page" : undefined}
            onClick={(event) => {
              if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
              event.preventDefault(); // a plain click switches in place; others open a tab
              onSelect(chat.id);
            }}
          >
            <span className="chat-title" data-testid="chat-title">
              {title}
            </span>
            <time className="chat-time" dateTime={chat.updatedAt}>
              {formatTime(chat.updatedAt)}
            </time>
          </a>
          <button
            ref={deleteButton}
            type="button"
            className="chat-delete"
            data-testid="delete-chat"
            aria-label={`Delete the chat “${title}”`}
            title="Delete this chat"
            onClick={() => setConfirming(true)}
          >
            <span aria-hidden="true">×</span>
          </button>
        </>
      )}
    </li>
  );
}

/** The time of day for today's chats, else the date. */
function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}
