// One conversation: useChat, the message list, status, errors and the composer.
import { useChat } from "@ai-sdk/react";
import {
  DefaultChatTransport,
  isToolUIPart,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  lastAssistantMessageIsCompleteWithToolCalls,
  WebSocketChatTransport,
  type ChatStatus,
  type ChatTransport,
  type FileUIPart,
  type UIMessage,
  type UIMessageChunk,
} from "ai";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import {
  CHAT_API,
  CHAT_SOCKET,
  fetchChat,
  isRecord,
  ownerKnown,
  SEND_LAST_MESSAGE_ONLY,
  steerChat,
  stopChat,
  type DemoConfig,
  type TransportMode,
} from "./api";
import { Composer, type Draft, type SteerNotice } from "./Composer";
import { describeError, describeSteerRefusal, STEER_UNREACHABLE } from "./errors";
import { isWaitingForUser, MessageView, type ApprovalHandler } from "./parts";

/** What the page hears from its transport, whichever it is. */
type TransportEvents = {
  /** A resume found no answer in progress (HTTP 204, a `no-active` frame). */
  onNothingToResume: () => void;
  /** An answer ended stopped (an `abort` chunk: this page, or another tab, stopped it). */
  onAbortChunk: () => void;
};

/** The chunks as they come, telling `onAbortChunk` about an `abort` chunk. */
function watchingAborts(stream: ReadableStream<UIMessageChunk>, onAbortChunk: () => void) {
  return stream.pipeThrough(
    new TransformStream<UIMessageChunk, UIMessageChunk>({
      transform(chunk, controller) {
        if (chunk.type === "abort") onAbortChunk();
        controller.enqueue(chunk);
      },
    }),
  );
}

/** useChat's HTTP transport (POST /api/chat, resume from GET /api/chat/{id}/stream).
 * With SEND_LAST_MESSAGE_ONLY it posts the last message only: the new user message, or
 * the assistant message an approval answer or a client-side tool's output continues. */
class DemoTransport extends DefaultChatTransport<UIMessage> {
  constructor(private readonly events: TransportEvents) {
    super({
      api: CHAT_API,
      fetch: fetchWaitingForTheLastAnswer,
      prepareSendMessagesRequest: SEND_LAST_MESSAGE_ONLY
        ? ({ id, messages, trigger, messageId, body }) => ({
            body: { ...body, id, message: messages[messages.length - 1], trigger, messageId },
          })
        : undefined,
    });
  }

  override async reconnectToStream(
    options: Parameters<DefaultChatTransport<UIMessage>["reconnectToStream"]>[0],
  ): Promise<ReadableStream<UIMessageChunk> | null> {
    const stream = await super.reconnectToStream(options);
    if (stream === null) this.events.onNothingToResume();
    return stream;
  }

  protected override processResponseStream(
    stream: ReadableStream<Uint8Array<ArrayBufferLike>>,
  ): ReadableStream<UIMessageChunk> {
    return watchingAborts(super.processResponseStream(stream), this.events.onAbortChunk);
  }
}

type SocketSendOptions = Parameters<WebSocketChatTransport<UIMessage>["sendMessages"]>[0];
type SocketResumeOptions = Parameters<WebSocketChatTransport<UIMessage>["reconnectToStream"]>[0];

/** useChat's WebSocket transport: AI SDK 7's WebSocketChatTransport on /api/chat/ws, one
 * socket for the chat's requests. A `send` frame carries the last message only (with
 * SEND_LAST_MESSAGE_ONLY: `messages` is that one message; the server keeps the rest).
 *
 * The transport tells the server to stop an answer (an `abort` frame) whenever useChat
 * aborts a request, and useChat aborts its request when the chat is left (its unmount
 * calls `stop()`). Here only the page's Stop stops the answer (`stopAnswer`); any other
 * abort lets go of it by closing the socket, which the server takes as a dropped
 * connection: the answer goes on and is saved, as it does over HTTP. */
class DemoSocketTransport extends WebSocketChatTransport<UIMessage> {
  /** Set while the page's Stop aborts the request. */
  private stopping = false;

  constructor(private readonly events: TransportEvents) {
    super({
      url: CHAT_SOCKET,
      prepareSendMessagesRequest: SEND_LAST_MESSAGE_ONLY
        ? ({ messages }) => ({ messages: messages.slice(-1) })
        : undefined,
    });
  }

  /** Stop the answer on the server: `stop` (useChat's) aborts the request, and this
   * transport sends the abort on (the server ends the answer with `abort`). */
  async stopAnswer(stop: () => Promise<void>): Promise<void> {
    this.stopping = true;
    try {
      await stop();
    } finally {
      this.stopping = false;
    }
  }

  override async sendMessages(options: SocketSendOptions): Promise<ReadableStream<UIMessageChunk>> {
    await ownerKnown(); // the handshake must carry the owner's cookie
    const abortSignal = this.forwardedAbort(options.abortSignal);
    return watchingAborts(await super.sendMessages({ ...options, abortSignal }), this.events.onAbortChunk);
  }

  override async reconnectToStream(options: SocketResumeOptions): Promise<ReadableStream<UIMessageChunk> | null> {
    await ownerKnown();
    const abortSignal = this.forwardedAbort(options.abortSignal);
    const stream = await super.reconnectToStream({ ...options, abortSignal });
    if (stream === null) {
      this.events.onNothingToResume();
      return null;
    }
    return watchingAborts(stream, this.events.onAbortChunk);
  }

  /** The signal the request gets: aborted by useChat's when the page stops the answer;
   * any other abort of useChat's closes the socket instead (the request fails, useChat
   * already counts it aborted, and the server keeps the answer going). */
  private forwardedAbort(signal: AbortSignal | undefined): AbortSignal | undefined {
    if (!signal || signal.aborted) return signal;
    const forwarded = new AbortController();
    const onAbort = () => {
      if (this.stopping) forwarded.abort(signal.reason);
      else this.close();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return forwarded.signal;
  }
}

/** Waits between attempts of a continuation the server refused with 409 (ms). */
const CONTINUATION_RETRIES = [100, 250, 500, 1000, 2000];

/** `fetch` for the transport. A continuation (an approval answer, a client-side tool's
 * output: the posted message is the assistant's) can reach the server before it has
 * saved the answer it continues, which ended a moment ago; the server then answers 409
 * ("still being written; wait for it"). Such a request is sent again, a few times, a
 * little later. Everything else goes through once. Every request waits for the owner's
 * cookie first (`ownerKnown`). */
async function fetchWaitingForTheLastAnswer(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  await ownerKnown();
  let response = await fetch(input, init);
  if (response.status !== 409 || init?.method !== "POST" || !isContinuation(init.body)) return response;
  for (const wait of CONTINUATION_RETRIES) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    init.signal?.throwIfAborted();
    response = await fetch(input, init);
    if (response.status !== 409) break;
  }
  return response;
}

function isContinuation(body: BodyInit | null | undefined): boolean {
  if (typeof body !== "string") return false;
  try {
    const parsed: unknown = JSON.parse(body);
    return isRecord(parsed) && isRecord(parsed.message) && parsed.message.role === "assistant";
  } catch {
    return false;
  }
}

const STATUS_LABELS: Record<ChatStatus, string> = {
  submitted: "Waiting for the agent…",
  streaming: "Answering…",
  ready: "Ready",
  error: "Error",
};

/** What this page added since the last request: outputs of client-side tools and
 * approval answers. An automatic follow-up is sent only for these, so a response
 * that leaves the same state behind can never make the page post in a loop. */
type Pending = { toolCallIds: Set<string>; approvalIds: Set<string> };

/** A dropped connection mid-answer (a TypeError from the transport) is followed by a
 * resume this long after, at most this many times in a row: the server's answer goes
 * on without the page, and the resume replays it whole. */
const RESUME_AFTER_DROP_MS = 500;
const MAX_RESUMES_IN_A_ROW = 3;

export function Chat({
  id,
  transportMode,
  initialMessages,
  resume,
  interrupted,
  config,
  onTurn,
}: {
  id: string;
  /** HTTP (DefaultChatTransport) or WebSocket (WebSocketChatTransport); fixed for the
   * life of this component (the page mounts a new one to switch). */
  transportMode: TransportMode;
  initialMessages: UIMessage[];
  /** Replay and follow the chat's answer in progress (GET /api/chat/{id}/stream): the
   * server says one is being written (this page was reloaded mid-answer, or the chat is
   * open in another tab). */
  resume: boolean;
  /** Ids of answers the server stopped writing before they finished (it went down). */
  interrupted: string[];
  /** The example prompts and the server's body limit. */
  config: DemoConfig;
  /** A turn of this chat started on the server (the answer streams) or ended. */
  onTurn: (id: string) => void;
}) {
  const pending = useRef<Pending>({ toolCallIds: new Set(), approvalIds: new Set() });
  const { prompts, maxBodyBytes } = config;
  const nothingToResume = useRef(() => {});
  // an `abort` chunk arrived in the answer now streaming (read and reset in onFinish)
  const abortSeen = useRef(false);
  const onDisconnect = useRef(() => {});
  const [transport] = useState<DemoTransport | DemoSocketTransport>(() => {
    const events: TransportEvents = {
      onNothingToResume: () => nothingToResume.current(),
      onAbortChunk: () => {
        abortSeen.current = true;
      },
    };
    return transportMode === "ws" ? new DemoSocketTransport(events) : new DemoTransport(events);
  });
  /** Answers that were stopped before their end (by this page or another tab). */
  const [stopped, setStopped] = useState<ReadonlySet<string>>(() => new Set());
  const {
    messages,
    setMessages,
    status,
    error,
    sendMessage,
    regenerate,
    stop,
    resumeStream,
    addToolOutput,
    addToolApprovalResponse,
  } = useChat({
    id,
    messages: initialMessages,
    transport,
    resume,
    onToolCall: ({ toolCall }) => {
      if (toolCall.toolName !== "get_local_time") return;
      pending.current.toolCallIds.add(toolCall.toolCallId);
      // not awaited: awaiting addToolOutput inside onToolCall deadlocks the chat
      void addToolOutput({ tool: "get_local_time", toolCallId: toolCall.toolCallId, output: localTime() });
    },
    sendAutomaticallyWhen: ({ messages }) => shouldContinue(messages, pending.current),
    onFinish: ({ message, isAbort, isError, isDisconnect }) => {
      const aborted = abortSeen.current;
      abortSeen.current = false;
      if (isDisconnect) {
        onDisconnect.current();
        return;
      }
      resumesInARow.current = 0;
      if (isError || !(isAbort || aborted) || message.role !== "assistant") return;
      setStopped((ids) => new Set(ids).add(message.id));
    },
  });

  // A resume asks for the answer in progress once the page knows of one: the saved chat
  // was loaded with `resumable`, or the connection dropped mid-answer. If the answer
  // ended in between, there is nothing left to resume, and the page has the question
  // without its answer (or a part of it). Load the chat again.
  const shown = useRef(messages);
  shown.current = messages;
  useEffect(() => {
    nothingToResume.current = () => {
      const last = shown.current.at(-1);
      if (!last) return;
      void fetchChat(id).then(
        (saved) => {
          if (!saved || saved.messages.at(-1)?.role !== "assistant") return;
          // unless the page has moved on since (a new message was sent)
          setMessages((now) => (now.at(-1)?.id === last.id ? saved.messages : now));
        },
        () => undefined, // the chat stays as it is
      );
    };
  }, [id, setMessages]);

  // A connection dropped mid-answer (the socket closed, the network went away): the
  // answer goes on on the server, so the page resumes it a moment later (replayed from
  // its start, on a new connection), a few times in a row at most.
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const resumesInARow = useRef(0);
  const [reconnecting, setReconnecting] = useState(false);
  useEffect(() => {
    onDisconnect.current = () => {
      if (resumesInARow.current >= MAX_RESUMES_IN_A_ROW) return;
      resumesInARow.current += 1;
      setReconnecting(true);
      window.setTimeout(() => {
        if (!mounted.current) return;
        void resumeStream().finally(() => {
          if (mounted.current) setReconnecting(false);
        });
      }, RESUME_AFTER_DROP_MS);
    };
  }, [resumeStream]);

  // A chat left behind (New chat, back/forward, the other transport) stops streaming
  // into nowhere. Only this page stops listening: the answer goes on on the server, is
  // saved when it ends, and coming back to the chat resumes it. Its socket, if it has
  // one, is closed.
  useEffect(
    () => () => {
      void stop();
      if (transport instanceof DemoSocketTransport) transport.close();
    },
    [stop, transport],
  );

  // Stop: the server stops the answer (it ends with `abort`), and this page stops
  // reading. Over HTTP the page posts the stop route first: `stop()` alone would only
  // close this page's connection. Over WebSocket `stop()` sends an `abort` frame, which
  // stops the answer.
  const stopAnswer = useCallback(async () => {
    if (transport instanceof DemoSocketTransport) {
      await transport.stopAnswer(stop);
      return;
    }
    try {
      await stopChat(id);
    } catch (reason: unknown) {
      console.warn(reason);
    } finally {
      await stop();
    }
  }, [id, stop, transport]);

  // the server saved the question when the answer started streaming, and the answer when
  // it ended: the chat list changes at both (a request refused before any answer
  // streamed changed nothing on the server)
  const lastStatus = useRef(status);
  useEffect(() => {
    const before = lastStatus.current;
    lastStatus.current = status;
    if (status !== before && (status === "streaming" || before === "streaming")) onTurn(id);
  }, [status, id, onTurn]);

  // What went wrong, in a sentence. A refused request (4xx, e.g. too large) never reached
  // the chat: its message is taken back out of the conversation (so it is not part of
  // what later turns build on, and it does not come back as if sent), and its text goes
  // back into the box to be sent again without what was refused.
  const problem = error && !reconnecting ? describeError(error, maxBodyBytes) : null;
  const [draft, setDraft] = useState<Draft | null>(null);
  const handledError = useRef<Error | undefined>(undefined);
  useEffect(() => {
    if (!error || handledError.current === error) return;
    handledError.current = error;
    const refused = messages.at(-1);
    if (!describeError(error, maxBodyBytes).refused || refused?.role !== "user") return;
    setDraft({ text: refused.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n") });
    setMessages(messages.slice(0, -1));
  }, [error, messages, maxBodyBytes, setMessages]);

  // waiting to resume after a dropped connection counts as busy: nothing else is sent
  const busy = status === "submitted" || status === "streaming" || reconnecting;
  const last = messages.at(-1);
  const scroller = useAutoScroll<HTMLDivElement>(messages, status);

  const send = useCallback(
    (text: string, files: File[]): boolean => {
      if (busy || (!text && !files.length)) return false;
      scroller.stick();
      void (async () => {
        const fileParts = await Promise.all(files.map(toFilePart));
        if (!fileParts.length) await sendMessage({ text });
        else if (!text) await sendMessage({ files: fileParts });
        else await sendMessage({ text, files: fileParts });
      })();
      return true;
    },
    [busy, sendMessage, scroller],
  );

  // Steering: while the answer streams, the box's text goes to it (POST
  // /api/chat/{id}/steer, over either transport) and shows up in it as a
  // `steering-message` part at its next step. A steer the server accepted but the answer
  // ended without (it came after the last step began) is not delivered: its text goes
  // back in the box, to send as a new message. A refused one goes back too.
  const steerable = status === "streaming" && !reconnecting && last?.role === "assistant";
  const [steerNotice, setSteerNotice] = useState<SteerNotice | null>(null);
  /** Accepted steers not yet seen in the answer: id -> text. */
  const awaitedSteers = useRef(new Map<string, string>());
  const busyNow = useRef(busy);
  busyNow.current = busy;
  const settleSteers = useCallback(() => {
    const waiting = awaitedSteers.current;
    if (!waiting.size) return;
    const answer = shown.current.at(-1);
    for (const part of answer?.role === "assistant" ? answer.parts : []) {
      if (part.type === "steering-message") waiting.delete(part.id);
    }
    if (busyNow.current) {
      if (!waiting.size) setSteerNotice((notice) => (notice?.refused ? notice : null));
      return;
    }
    if (!waiting.size) return;
    const texts = [...waiting.values()];
    waiting.clear();
    setDraft({ text: texts.join("\n") });
    setSteerNotice({
      sentence:
        "The answer ended before it read your message, so the agent did not see it. It is back in the box: send it as a new message.",
      refused: true,
    });
  }, []);
  useEffect(settleSteers, [messages, busy, settleSteers]);
  const steer = useCallback(
    (text: string): boolean => {
      if (!steerable || !text) return false;
      setSteerNotice(null);
      void (async () => {
        let sentence: string;
        try {
          const answer = await steerChat(id, text);
          if (answer.accepted) {
            awaitedSteers.current.set(answer.id, text);
            setSteerNotice({ sentence: "Sent: the agent reads it at its next step.", refused: false });
            settleSteers();
            return;
          }
          sentence = describeSteerRefusal(answer.status, answer.body, maxBodyBytes);
        } catch (reason: unknown) {
          console.warn(reason);
          sentence = STEER_UNREACHABLE;
        }
        setDraft({ text });
        setSteerNotice({ sentence, refused: true });
      })();
      return true;
    },
    [id, steerable, maxBodyBytes, settleSteers],
  );
  // a new message starts afresh
  const sendClearingSteer = useCallback(
    (text: string, files: File[]): boolean => {
      const sent = send(text, files);
      if (sent) setSteerNotice(null);
      return sent;
    },
    [send],
  );

  const onApproval: ApprovalHandler = useCallback(
    (response) => {
      pending.current.approvalIds.add(response.id);
      void addToolApprovalResponse(response);
    },
    [addToolApprovalResponse],
  );

  // one way to try again: Retry on the error when there is one; otherwise Regenerate on
  // a finished last answer (not on one waiting for an approval or a tool's output)
  const canRegenerate = !error && status === "ready" && last?.role === "assistant" && !isWaitingForUser(last);
  const cutOff = new Set(interrupted);

  return (
    <>
      <div className="scroller" ref={scroller.ref} onScroll={scroller.onScroll}>
        <div className="messages" data-testid="messages" aria-live="polite">
          {messages.length === 0 ? (
            <div className="empty">
              <p>Start the conversation below{prompts.length ? ", or pick an example" : ""}.</p>
            </div>
          ) : null}
          {messages.map((message, index) => {
            const isLast = index === messages.length - 1;
            const notice = cutOff.has(message.id) ? (
              <p className="interrupted" data-testid="interrupted" role="note">
                This answer was interrupted: the server stopped before it finished.
              </p>
            ) : stopped.has(message.id) && !(isLast && busy) ? (
              <p className="stopped" data-testid="stopped" role="note">
                Stopped before the end.
              </p>
            ) : null;
            return (
              <MessageView
                key={message.id}
                message={message}
                live={isLast && busy}
                current={isLast}
                onApproval={onApproval}
                notice={notice}
                footer={
                  isLast && canRegenerate ? (
                    <button
                      type="button"
                      className="button button--small"
                      data-testid="regenerate"
                      aria-label="Regenerate the last answer"
                      onClick={() => {
                        scroller.stick();
                        void regenerate();
                      }}
                    >
                      Regenerate
                    </button>
                  ) : undefined
                }
              />
            );
          })}
          {problem ? (
            <div className="error" data-testid="error" data-refused={String(problem.refused)} role="alert">
              <span className="error-text">{problem.sentence}</span>
              {problem.retry && messages.length ? (
                <button
                  type="button"
                  className="button button--small"
                  data-testid="retry"
                  aria-label="Retry the last request"
                  onClick={() => {
                    scroller.stick();
                    void regenerate();
                  }}
                >
                  Retry
                </button>
              ) : null}
            </div>
          ) : null}
        </div>
      </div>
      <div className="dock">
        <div className="dock-inner">
          <div className="hint">
            <span
              className="status"
              data-testid="status"
              data-status={status}
              data-reconnecting={reconnecting ? "true" : undefined}
              role="status"
            >
              <span
                className={`status-dot status-dot--${reconnecting ? "submitted" : status}`}
                aria-hidden="true"
              />
              {reconnecting ? "Reconnecting…" : STATUS_LABELS[status]}
            </span>
            {prompts.length ? <span className="hint-label">Try:</span> : null}
            {prompts.map((prompt, i) => (
              <button
                key={`${i}-${prompt.label}`}
                type="button"
                className="chip"
                data-testid="prompt-chip"
                title={prompt.text}
                aria-label={`Send example prompt: ${prompt.label}`}
                disabled={busy}
                onClick={() => sendClearingSteer(prompt.text, [])}
              >
                {prompt.label}
              </button>
            ))}
          </div>
          <Composer
            busy={busy}
            steerable={steerable}
            maxBodyBytes={maxBodyBytes}
            draft={draft}
            steerNotice={steerNotice}
            onSend={sendClearingSteer}
            onSteer={steer}
            onStop={() => void stopAnswer()}
          />
        </div>
      </div>
    </>
  );
}

/** `sendAutomaticallyWhen`: the SDK's two predicates, for state this page produced. */
function shouldContinue(messages: UIMessage[], pending: Pending): boolean {
  const last = messages.at(-1);
  if (!last || last.role !== "assistant") return false;
  const complete =
    lastAssistantMessageIsCompleteWithApprovalResponses({ messages }) ||
    lastAssistantMessageIsCompleteWithToolCalls({ messages });
  if (!complete) return false;
  const stepStart = last.parts.findLastIndex((part) => part.type === "step-start");
  const tools = last.parts.slice(stepStart + 1).filter(isToolUIPart);
  const ours = tools.filter(
    (part) =>
      pending.toolCallIds.has(part.toolCallId) ||
      (part.approval !== undefined && pending.approvalIds.has(part.approval.id)),
  );
  if (!ours.length) return false;
  for (const part of ours) {
    pending.toolCallIds.delete(part.toolCallId);
    if (part.approval) pending.approvalIds.delete(part.approval.id);
  }
  return true;
}

function localTime(): { time: string; timeZone: string } {
  return { time: new Date().toISOString(), timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone };
}

function toFilePart(file: File): Promise<FileUIPart> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () =>
      resolve({
        type: "file",
        mediaType: file.type || "application/octet-stream",
        filename: file.name,
        url: String(reader.result),
      });
    reader.onerror = () => reject(reader.error ?? new Error(`Could not read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

/** Keeps the list scrolled to the bottom while new content arrives, unless the reader
 * scrolled up; sending (or regenerating) sticks to the bottom again. */
function useAutoScroll<T extends HTMLElement>(messages: unknown, status: ChatStatus) {
  const ref = useRef<T>(null);
  const stuck = useRef(true);
  const toBottom = useCallback(() => {
    const el = ref.current;
    if (el && stuck.current) el.scrollTop = el.scrollHeight;
  }, []);
  useLayoutEffect(toBottom, [messages, status, toBottom]);
  useEffect(() => {
    const el = ref.current?.firstElementChild;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(toBottom); // images loading, reasoning opening
    observer.observe(el);
    return () => observer.disconnect();
  }, [toBottom]);
  const onScroll = useCallback(() => {
    const el = ref.current;
    if (el) stuck.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  }, []);
  const stick = useCallback(() => {
    stuck.current = true;
    toBottom();
  }, [toBottom]);
  // a stable object, so callbacks that use it keep their identity
  const api = useRef({ ref, onScroll, stick });
  return api.current;
}
