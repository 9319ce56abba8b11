// Drives a uiwire ChatSocket with the real `WebSocketChatTransport` of ai 7 (and
// its useChat core, AbstractChat) in Node; prints what the client got, as JSON.
//
//   node websocket_chat.mjs '{"url": "ws://127.0.0.1:PORT/api/chat/ws?user=u1", "run": "send", ...}'
//
// Runs (the `run` field):
//   send        one user message through AbstractChat; its messages and status
//   drop        a send whose socket is closed after `after` chunks, then a resume on a
//               new socket (a full replay; at `resumeUrl`, another worker, if given);
//               the chunks of both, and the replayed message
//   abort       a send aborted after `after` chunks; the chunks the client got
//   concurrent  sends to `chats` chats at once on one socket; each one's message
//   resume      a resume of chat `chat`; null when the server had nothing active; with
//               `after`, aborted after that many chunks
//   raw         sends `frames` (strings) on a plain socket; prints the frames received
//               within `wait` ms
// Every chunk the transport hands over was validated by it (uiMessageChunkSchema), and
// every stream is assembled by the client's own readUIMessageStream.

import { WebSocket } from 'undici';
import * as ai from 'ai7';
import { sendThroughChat } from './harness.mjs';

const options = JSON.parse(process.argv[2]);

function transport(url = options.url) {
  return new ai.WebSocketChatTransport({ url, webSocket: WebSocket });
}

function userMessage(id, text) {
  return { id, role: 'user', parts: [{ type: 'text', text }] };
}

async function readAll(stream, { after, onAfter } = {}) {
  const chunks = [];
  const reader = stream.getReader();
  let error;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      if (after !== undefined && chunks.length === after) await onAfter();
    }
  } catch (e) {
    error = String(e?.message ?? e);
  }
  return { chunks, error };
}

async function assemble(chunks) {
  const stream = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  let last;
  for await (const message of ai.readUIMessageStream({ stream })) last = message;
  return last === undefined ? null : JSON.parse(JSON.stringify(last));
}

function sendOptions(chatId, text, extra = {}) {
  return {
    chatId,
    messages: [userMessage(`u-${chatId}`, text)],
    trigger: 'submit-message',
    messageId: undefined,
    abortSignal: undefined,
    body: options.body ?? {},
    headers: options.headers ?? {},
    metadata: undefined,
    ...extra,
  };
}

const runs = {
  async send() {
    return sendThroughChat(ai, transport(), options);
  },

  async drop() {
    const first = transport();
    const stream = await first.sendMessages(sendOptions(options.chat, options.text ?? 'hello'));
    const before = await readAll(stream, { after: options.after, onAfter: async () => first.close() });
    const second = transport(options.resumeUrl ?? options.url);
    const replay = await second.reconnectToStream({ chatId: options.chat, headers: {}, body: {}, metadata: undefined });
    if (replay === null) return { before, replay: null };
    const after = await readAll(replay);
    second.close();
    return { before, replay: after, message: await assemble(after.chunks) };
  },

  async abort() {
    const controller = new AbortController();
    const t = transport();
    const stream = await t.sendMessages(
      sendOptions(options.chat, options.text ?? 'hello', { abortSignal: controller.signal }),
    );
    const got = await readAll(stream, { after: options.after, onAfter: async () => controller.abort() });
    await new Promise(resolve => setTimeout(resolve, options.linger ?? 200));
    t.close();
    return got;
  },

  async concurrent() {
    const t = transport();
    const results = await Promise.all(
      options.chats.map(async chatId => {
        const stream = await t.sendMessages(sendOptions(chatId, `hello from ${chatId}`));
        const got = await readAll(stream);
        return { chat: chatId, ...got, message: await assemble(got.chunks) };
      }),
    );
    t.close();
    return results;
  },

  async resume() {
    const t = transport();
    const controller = new AbortController();
    const stream = await t.reconnectToStream({
      chatId: options.chat,
      headers: {},
      body: {},
      metadata: undefined,
      abortSignal: controller.signal,
    });
    if (stream === null) {
      t.close();
      return null;
    }
    const got = await readAll(stream, { after: options.after, onAfter: async () => controller.abort() });
    await new Promise(resolve => setTimeout(resolve, options.linger ?? 0));
    t.close();
    return { ...got, message: await assemble(got.chunks) };
  },

  async raw() {
    const socket = new WebSocket(options.url);
    const received = [];
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error('the socket did not open'));
    });
    socket.onmessage = event => received.push(JSON.parse(String(event.data)));
    for (const frame of options.frames) socket.send(frame);
    await new Promise(resolve => setTimeout(resolve, options.wait ?? 500));
    const open = socket.readyState === WebSocket.OPEN;
    socket.close();
    return { received, open };
  },
};

const run = runs[options.run];
if (run === undefined) throw new Error(`unknown run ${options.run}`);
// sockets a run leaves open (the transport keeps its connection) must not keep Node up
process.stdout.write(JSON.stringify(await run()), () => process.exit(0));
