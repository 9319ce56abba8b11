// Talking to the `uiwire demo` server (everything but the chat stream itself, which
// DefaultChatTransport posts to /api/chat and resumes from /api/chat/{id}/stream, or
// WebSocketChatTransport sends over /api/chat/ws), the chat id kept in the URL
// (?chat=<id>), and the transport the page uses (HTTP or WebSocket). The server knows who we are from its
// HttpOnly owner cookie, which same-origin fetches send by themselves.
import type { UIMessage } from "ai";

export const CHAT_API = "/api/chat";
/** The WebSocket `ChatEndpoint.routes(CHAT_API)` serves next to it (AI SDK 7's
 * `WebSocketChatTransport`). */
export const CHAT_SOCKET = `${CHAT_API}/ws`;
/** The chat history routes ChatEndpoint serves next to CHAT_API. */
export const CHATS_API = "/api/chats";

/** Post only the last message (`{ id, message, trigger, messageId }`): the server keeps
 * the conversation and believes only its own copy, so the earlier messages (and their
 * files) need not travel again. False posts the whole conversation (`messages`), the
 * body servers without a conversation store need. */
export const SEND_LAST_MESSAGE_ONLY = true;

/** What the server accepts as a chat id (uiwire.resume.check_chat_id): it goes into
 * the resume and stop URLs. */
const CHAT_ID = /^[A-Za-z0-9._~:@-]{1,128}$/;

export function isChatId(id: string): boolean {
  return CHAT_ID.test(id) && id !== "." && id !== "..";
}

export type DemoPrompt = { label: string; text: string };

/** One of the owner's chats, as `GET /api/chats` lists it. */
export type ChatSummary = { id: string; title: string; createdAt: string; updatedAt: string };

/** One chat, as `GET /api/chats/{id}` returns it. */
export type SavedChat = {
  id: string;
  title: string;
  messages: UIMessage[];
  /** An answer is being written now and can be replayed: it is not in `messages`, and
   * `useChat({ resume: true })` fetches it. */
  resumable: boolean;
  /** Answers whose server stopped before they finished (they stay as last saved). */
  interrupted: string[];
};

/** The first answer of the server that knows the owner (the chat list, or a chat), once
 * it came or failed. A browser new to the server has no owner cookie until that answer
 * sets it; a chat request sent meanwhile would get a second new owner, whose cookie one
 * of the two then replaces in the browser (the page would lose its chat). */
let ownerAnswer: Promise<void> | null = null;

/** Waits for the owner's cookie before a chat request: settles once the first request
 * of the owner's has been answered (or failed, or 5 s passed). */
export function ownerKnown(): Promise<void> {
  if (ownerAnswer === null) return Promise.resolve();
  return Promise.race([ownerAnswer, new Promise<void>((resolve) => setTimeout(resolve, 5000))]);
}

/** `fetch`, noting the first such request as the one that sets the owner's cookie. */
function fetchAsOwner(input: string, init: RequestInit): Promise<Response> {
  const request = fetch(input, init);
  ownerAnswer ??= request.then(
    () => undefined,
    () => undefined,
  );
  return request;
}

/** The owner's chats, most recently updated first (the newest 100). */
export async function fetchChats(signal?: AbortSignal): Promise<ChatSummary[]> {
  const response = await fetchAsOwner(`${CHATS_API}?limit=100`, { headers: { accept: "application/json" }, signal });
  if (!response.ok) {
    throw new Error(`Loading the chats failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const body: unknown = await response.json();
  const chats = isRecord(body) ? body.chats : undefined;
  if (!Array.isArray(chats)) throw new Error("Loading the chats failed: no chat list in the answer");
  return chats.filter(isChatSummary);
}

/** One of the owner's chats with its messages, or null when the server has no such chat
 * of ours (404: it never existed, was deleted, or is someone else's). */
export async function fetchChat(id: string, signal?: AbortSignal): Promise<SavedChat | null> {
  const response = await fetchAsOwner(`${CHATS_API}/${encodeURIComponent(id)}`, {
    headers: { accept: "application/json" },
    signal,
  });
  if (response.status === 404) return null;
  if (!response.ok) {
    throw new Error(`Loading the chat failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const body: unknown = await response.json();
  if (!isRecord(body) || !Array.isArray(body.messages)) {
    throw new Error("Loading the chat failed: no message list in the answer");
  }
  return {
    id,
    title: typeof body.title === "string" ? body.title : "",
    messages: body.messages.filter(isMessage),
    resumable: body.resumable === true,
    interrupted: Array.isArray(body.interrupted)
      ? body.interrupted.filter((v): v is string => typeof v === "string")
      : [],
  };
}

/** Delete one of the owner's chats (the server also stops its answer, if one runs). A
 * chat that is already gone (404) counts as deleted. */
export async function deleteChat(id: string): Promise<void> {
  const response = await fetch(`${CHATS_API}/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (!response.ok && response.status !== 404) {
    throw new Error(`Deleting the chat failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
}

/** Stop the chat's answer on the server (`POST /api/chat/{id}/stop`): with resumable
 * answers the generation does not depend on this page's connection, so closing it (what
 * useChat's `stop()` does) would not stop it. 202: stopped; 204: nothing was running.
 * The body is JSON: the server refuses anything else, so that a form another site posts
 * with our cookie cannot stop our answers. */
export async function stopChat(id: string): Promise<void> {
  const response = await fetch(`${CHAT_API}/${encodeURIComponent(id)}/stop`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  if (!response.ok) {
    throw new Error(`Stopping the answer failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
}

/** How the server answered a steer: accepted (its id: the `steering-message` part that
 * shows it in the answer has it), or refused (the status and the JSON body, for
 * `describeSteerRefusal`). */
export type SteerAnswer = { accepted: true; id: string } | { accepted: false; status: number; body: string };

/** Send `text` to the chat's running answer (`POST /api/chat/{id}/steer`): the agent
 * reads it at its next step. Over either transport the page uses this route (the
 * WebSocket transport has no call for uiwire's `steer` frame). Throws a TypeError when
 * the server cannot be reached. */
export async function steerChat(id: string, text: string): Promise<SteerAnswer> {
  const response = await fetch(`${CHAT_API}/${encodeURIComponent(id)}/steer`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ parts: [{ type: "text", text }] }),
  });
  const body = await response.text();
  if (response.status === 202) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (isRecord(parsed) && typeof parsed.id === "string") return { accepted: true, id: parsed.id };
    } catch {
      // not the answer the route gives: counted as refused below
    }
  }
  return { accepted: false, status: response.status, body };
}

/** What the demo server tells the page (`GET /api/demo/config`). */
export type DemoConfig = {
  prompts: DemoPrompt[];
  /** The largest body `POST /api/chat` takes; null when unknown (the server's refusal
   * is then the only check). */
  maxBodyBytes: number | null;
};

export const NO_CONFIG: DemoConfig = { prompts: [], maxBodyBytes: null };

/** The example prompts and limits; none when the server offers none or the request fails. */
export async function fetchConfig(signal?: AbortSignal): Promise<DemoConfig> {
  try {
    const response = await fetch("/api/demo/config", { headers: { accept: "application/json" }, signal });
    if (!response.ok) return NO_CONFIG;
    const body: unknown = await response.json();
    if (!isRecord(body)) return NO_CONFIG;
    const prompts = Array.isArray(body.prompts)
      ? body.prompts.filter(
          (p): p is DemoPrompt => isRecord(p) && typeof p.label === "string" && typeof p.text === "string",
        )
      : [];
    const max = body.maxBodyBytes;
    return { prompts, maxBodyBytes: typeof max === "number" && max > 0 ? max : null };
  } catch {
    return NO_CONFIG;
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

/** Put `id` in the URL (null: take the chat out of it, for a chat not yet on the
 * server): replace the current entry, or push a new one (switching chats). */
export function setChatIdInUrl(id: string | null, mode: "replace" | "push"): void {
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete("chat");
  else url.searchParams.set("chat", id);
  if (url.href === window.location.href) return;
  if (mode === "push") window.history.pushState({ chat: id }, "", url);
  else window.history.replaceState({ chat: id }, "", url);
}

/** How useChat talks to the server: `http` (DefaultChatTransport: a POST per message,
 * the answer as SSE) or `ws` (WebSocketChatTransport: frames over one socket). */
export type TransportMode = "http" | "ws";

const TRANSPORT_KEY = "uiwire-demo.transport";

function isTransportMode(value: string | null): value is TransportMode {
  return value === "http" || value === "ws";
}

/** The transport to use: `?transport=http|ws` in the URL, else the one last chosen in
 * this browser, else HTTP. */
export function initialTransport(): TransportMode {
  const asked = new URLSearchParams(window.location.search).get("transport");
  if (isTransportMode(asked)) return asked;
  try {
    const kept = window.localStorage.getItem(TRANSPORT_KEY);
    if (isTransportMode(kept)) return kept;
  } catch {
    // storage refused (a private mode, a policy): the default
  }
  return "http";
}

/** Keep the chosen transport for the next visits, and in the URL if it names one (so
 * that a reload keeps it). */
export function keepTransport(mode: TransportMode): void {
  try {
    window.localStorage.setItem(TRANSPORT_KEY, mode);
  } catch {
    // not kept: this page still uses it
  }
  const url = new URL(window.location.href);
  if (!url.searchParams.has("transport")) return;
  url.searchParams.set("transport", mode);
  window.history.replaceState(window.history.state, "", url);
}

/** A link to the chat, for the sidebar (opens in a new tab with a middle click). */
export function chatUrl(id: string): string {
  return `?chat=${encodeURIComponent(id)}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isChatSummary(value: unknown): value is ChatSummary {
  return (
    isRecord(value) &&
    typeof value.id === "string" &&
    isChatId(value.id) &&
    typeof value.title === "string" &&
    typeof value.createdAt === "string" &&
    typeof value.updatedAt === "string"
  );
}

function isMessage(value: unknown): value is UIMessage {
  return (
    isRecord(value) &&
    typeof value.id === "string" &&
    (value.role === "user" || value.role === "assistant" || value.role === "system") &&
    Array.isArray(value.parts)
  );
}
