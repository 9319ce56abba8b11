// Talking to the `uiwire demo` server (everything but the chat stream itself, which
// DefaultChatTransport posts to /api/chat and resumes from /api/chat/{id}/stream), and
// the chat id kept in the URL (?chat=<id>).
import type { UIMessage } from "ai";

export const CHAT_API = "/api/chat";

/** What the server accepts as a chat id (uiwire.resume.check_chat_id): it goes into
 * the resume and stop URLs. */
const CHAT_ID = /^[A-Za-z0-9._~:@-]{1,128}$/;

export function isChatId(id: string): boolean {
  return CHAT_ID.test(id) && id !== "." && id !== "..";
}

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

/** Stop the chat's answer on the server (`POST /api/chat/{id}/stop`): with resumable
 * answers the generation does not depend on this page's connection, so closing it (what
 * useChat's `stop()` does) would not stop it. 202: stopped; 204: nothing was running. */
export async function stopChat(id: string): Promise<void> {
  const response = await fetch(`${CHAT_API}/${encodeURIComponent(id)}/stop`, { method: "POST" });
  if (!response.ok) {
    throw new Error(`Stopping the answer failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
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

/** The chat id in the URL; null when there is none or the server would refuse it. */
export function chatIdFromUrl(): string | null {
  const id = new URLSearchParams(window.location.search).get("chat");
  return id && isChatId(id) ? id : null;
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
