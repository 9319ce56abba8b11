// Conformance harness core: runs an SSE body through the real `ai` client code
// (parseJsonEventStream + uiMessageChunkSchema, readUIMessageStream, and the
// AbstractChat + DefaultChatTransport core of useChat).
//
// Every SDK entry point used here is exported from the package root of
// ai@5, ai@6 and ai@7, so no deep imports are needed.

import * as ai5 from 'ai5';
import * as ai6 from 'ai6';
import * as ai7 from 'ai7';

export const SDKS = { ai5, ai6, ai7 };

const REQUIRED_EXPORTS = [
  'parseJsonEventStream',
  'uiMessageChunkSchema',
  'readUIMessageStream',
  'AbstractChat',
  'DefaultChatTransport',
  'JSONParseError',
  'TypeValidationError',
];

for (const [label, sdk] of Object.entries(SDKS)) {
  const missing = REQUIRED_EXPORTS.filter(name => sdk[name] == null);
  if (missing.length > 0) {
    throw new Error(`${label} does not export ${missing.join(', ')} from its root`);
  }
}

/** Plain JSON view of a value: undefined keys vanish, exactly as on the wire. */
export function wire(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function bodyStream(text) {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

function arrayStream(items) {
  return new ReadableStream({
    start(controller) {
      for (const item of items) controller.enqueue(item);
      controller.close();
    },
  });
}

function errorKind(sdk, error) {
  if (sdk.JSONParseError.isInstance(error)) return 'json';
  if (sdk.TypeValidationError.isInstance(error)) return 'schema';
  return 'unknown';
}

/**
 * Step 1: parse the body exactly as DefaultChatTransport does. Returns one
 * record per SSE event carrying data ([DONE] is dropped by the SDK itself).
 */
export async function parseEvents(sdk, sse) {
  const results = [];
  const stream = sdk.parseJsonEventStream({
    stream: bodyStream(sse),
    schema: sdk.uiMessageChunkSchema,
  });
  for await (const result of stream) {
    results.push(
      result.success
        ? { success: true, value: result.value }
        : { success: false, kind: errorKind(sdk, result.error), error: result.error },
    );
  }
  return results;
}

/**
 * Feeds `chunks` to readUIMessageStream. With `flush`, a no-op
 * `start{messageId: <current id>}` is appended: it changes nothing but forces
 * a snapshot, so the last snapshot is the final assembled state (several
 * chunks, e.g. `start-step`, mutate the state without emitting a snapshot).
 */
export async function runRead(sdk, chunks, message, { flush = false } = {}) {
  const errors = [];
  const fed = [...chunks];
  if (flush) fed.push({ type: 'start', messageId: currentMessageId(chunks, message) });
  const snapshots = [];
  const iterable = sdk.readUIMessageStream({
    message: message == null ? undefined : structuredClone(message),
    stream: arrayStream(fed),
    onError: error => errors.push(error),
  });
  for await (const snapshot of iterable) snapshots.push(wire(snapshot));
  return { snapshots, errors, ...classifyErrors(sdk, chunks, errors) };
}

/** The message id processUIMessageStream holds after `chunks`. */
export function currentMessageId(chunks, message) {
  let id = message?.role === 'assistant' ? message.id : '';
  for (const chunk of chunks) {
    if (chunk.type === 'start' && chunk.messageId != null) id = chunk.messageId;
  }
  return id;
}

/**
 * onError receives two kinds of errors: `new Error(errorText)` for each
 * `error` chunk (processing continues) and the thrown ordering error
 * (processing stops, so it is always the last one). Error-chunk errors are
 * plain Errors whose message is the errorText of the error chunks fed, in order.
 */
function classifyErrors(sdk, chunks, errors) {
  const fedTexts = chunks.filter(c => c.type === 'error').map(c => c.errorText);
  const errorTexts = [];
  let orderingError = null;
  for (const [i, error] of errors.entries()) {
    const isChunkError =
      orderingError == null &&
      i < fedTexts.length &&
      error instanceof Error &&
      Object.getPrototypeOf(error) === Error.prototype &&
      !(sdk.UIMessageStreamError?.isInstance(error) ?? false) &&
      error.message === fedTexts[i];
    if (isChunkError) errorTexts.push(error.message);
    else orderingError ??= error;
  }
  return { errorTexts, orderingError };
}

/** finishReason as processUIMessageStream keeps it: last non-null one. */
export function finishReasonOf(chunks) {
  let reason = null;
  for (const chunk of chunks) {
    if (chunk.type === 'finish' && chunk.finishReason != null) reason = chunk.finishReason;
  }
  return reason;
}

/**
 * Steps 1 + 2: parse, then assemble with readUIMessageStream. Returns the
 * first violation (or null), the final message, error texts, finish reason.
 *
 * Ordering violation index: prefix replay. chunks[0..k] is replayed for a
 * binary-searched k; the index is the smallest k whose prefix makes
 * processUIMessageStream throw (monotone: processing is deterministic and
 * stops at the first throw). A parse failure at event p ends the response,
 * so only events before p are fed; any ordering error is thus before p.
 */
export async function analyse(sdk, sse, message) {
  const events = await parseEvents(sdk, sse);
  const firstParseFailure = events.findIndex(e => !e.success);
  const chunks = events
    .slice(0, firstParseFailure < 0 ? events.length : firstParseFailure)
    .map(e => e.value);

  const full = await runRead(sdk, chunks, message, { flush: true });
  let violation = null;

  if (full.orderingError != null) {
    let lo = 0;
    let hi = chunks.length - 1;
    let found = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const run = await runRead(sdk, chunks.slice(0, mid + 1), message);
      if (run.orderingError != null) {
        found = { index: mid, error: run.orderingError };
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    if (found == null) {
      throw new Error(
        `ordering error in the full run but no prefix reproduces it: ${full.orderingError}`,
      );
    }
    violation = {
      index: found.index,
      kind: 'ordering',
      chunkType: found.error.chunkType ?? null,
      chunkId: found.error.chunkId ?? null,
      error: found.error,
    };
  } else if (firstParseFailure >= 0) {
    const failed = events[firstParseFailure];
    violation = { index: firstParseFailure, kind: failed.kind, error: failed.error };
  }

  // Last snapshot before the flush (what a readUIMessageStream consumer saw).
  const natural = full.orderingError == null ? full.snapshots.at(-2) : full.snapshots.at(-1);
  return {
    events,
    chunks,
    violation,
    finalMessage: full.orderingError == null ? full.snapshots.at(-1) : undefined,
    lastSnapshot: natural,
    errorTexts: full.errorTexts,
    finishReason: finishReasonOf(chunks),
  };
}

// ---------------------------------------------------------------------------
// Step 3: the useChat core.

/** In-memory ChatState, mirroring what the framework bindings do: pushMessage
 * stores the message object as given, replaceMessage stores a snapshot. */
export class MemoryChatState {
  constructor() {
    this.status = 'ready';
    this.error = undefined;
    this.messages = [];
  }
  pushMessage = message => {
    this.messages = this.messages.concat(message);
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index, message) => {
    this.messages = [
      ...this.messages.slice(0, index),
      this.snapshot(message),
      ...this.messages.slice(index + 1),
    ];
  };
  snapshot = value => structuredClone(value);
}

/**
 * One user message (`text`, default "hello") sent in chat `chat` through `transport`,
 * by the useChat core (`AbstractChat`); the chat's status, messages and errors.
 */
export async function sendThroughChat(sdk, transport, { chat: id, text }) {
  const errors = [];
  class Chat extends sdk.AbstractChat {}
  const chat = new Chat({
    id,
    transport,
    state: new MemoryChatState(),
    onError: e => errors.push(String(e?.message ?? e)),
  });
  await chat.sendMessage({ text: text ?? 'hello' });
  return { status: chat.status, messages: JSON.parse(JSON.stringify(chat.messages)), errors };
}

export const GENERATED_ID = /^uiwire-gen-\d+$/;

/**
 * Sends one user message through a concrete AbstractChat whose
 * DefaultChatTransport `fetch` answers with `sse`. Returns the chat and what
 * onFinish / onError reported.
 */
export async function runChat(sdk, sse) {
  let counter = 0;
  const requests = [];
  const transport = new sdk.DefaultChatTransport({
    api: 'http://uiwire.test/api/chat',
    fetch: async (url, init) => {
      requests.push({ url: String(url), body: init?.body });
      return new Response(sse, {
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
      });
    },
  });
  const finishes = [];
  const onErrorCalls = [];
  class TestChat extends sdk.AbstractChat {}
  const chat = new TestChat({
    id: 'uiwire-chat',
    generateId: () => `uiwire-gen-${++counter}`,
    transport,
    state: new MemoryChatState(),
    onFinish: info => finishes.push({ ...info, message: wire(info.message) }),
    onError: error => onErrorCalls.push(error),
  });
  await chat.sendMessage({ text: 'hi' });
  return { chat, finishes, onErrorCalls, requests };
}
