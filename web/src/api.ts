// Talking to the `uiwire demo` server (everything but the chat stream itself, which
// DefaultChatTransport posts to /api/chat), and the chat id kept in the URL (?chat=<id>).
import type { UIMessage } from "ai";

export const CHAT_API = "/api/chat";

export type DemoPrompt = { label: string; text: string };

/** The saved messages of a chat, or null when the server does not know it (404). */
export async function fetchChat(id: string, signal?: AbortSignal): Promise<UIMessage[] | null> {
  const response = await fetch(`/api/chats/${encodeURIComponent(id)}`, {
    headers: { accept: "application/json" },
    signal,
  });
  if (response.status === 404) return null;
  if (!response.ok) {
    throw new Error(`Loading the chat failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const body: unknown = await response.json();
  const messages = isRecord(body) ? body.messages : undefined;
  if (!Array.isArray(messages)) throw new Error("Loading the chat failed: no message list in the answer");
  return messages.filter(isMessage);
}

/** The example prompts the server offers; none when it offers none or the request fails. */
export async function fetchPrompts(signal?: AbortSignal): Promise<DemoPrompt[]> {
  try {
    const response = await fetch("/api/demo/prompts", { headers: { accept: "application/json" }, signal });
    if (!response.ok) return [];
    const body: unknown = await response.json();
    const prompts = isRecord(body) ? body.prompts : undefined;
    if (!Array.isArray(prompts)) return [];
    return prompts.filter(
      (p): p is DemoPrompt => isRecord(p) && typeof p.label === "string" && typeof p.text === "string",
    );
  } catch {
    return [];
  }
}

/** A fresh chat id: a UUID (crypto.randomUUID needs a secure context, so fall back). */
export function newChatId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function chatIdFromUrl(): string | null {
  const id = new URLSearchParams(window.location.search).get("chat");
  return id ? id : null;
}

/** Put `id` in the URL: replace the current entry, or push a new one (New chat). */
export function setChatIdInUrl(id: string, mode: "replace" | "push"): void {
  const url = new URL(window.location.href);
  url.searchParams.set("chat", id);
  if (mode === "push") window.history.pushState({ chat: id }, "", url);
  else window.history.replaceState({ chat: id }, "", url);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMessage(value: unknown): value is UIMessage {
  return (
    isRecord(value) &&
    typeof value.id === "string" &&
    (value.role === "user" || value.role === "assistant" || value.role === "system") &&
    Array.isArray(value.parts)
  );
}
