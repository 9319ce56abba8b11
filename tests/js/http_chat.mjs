// Drives a uiwire ChatEndpoint over HTTP with the real `DefaultChatTransport` of ai 7
// (and its useChat core, AbstractChat) in Node; prints what the client got, as JSON.
//
//   node http_chat.mjs '{"api": "http://127.0.0.1:PORT/api/chat", "run": "send", ...}'
//
// Runs (the `run` field):
//   send    one user message (`text`) to chat `chat` through AbstractChat; its messages,
//           status and errors
//   resume  a resume of chat `chat` (reconnectToStream, as useChat({ resume: true }));
//           the message the client's readUIMessageStream assembled, null for nothing
// Both print every HTTP response the transport read: its status, headers and body text.
// `headers` are sent with every request. Every chunk was validated by the transport
// (uiMessageChunkSchema); a stream it rejects is an error here.

import * as ai from 'ai7';
import { sendThroughChat } from './harness.mjs';

const options = JSON.parse(process.argv[2]);
const responses = [];

async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  const entry = {
    url: String(url),
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: response.clone().text(),
  };
  responses.push(entry);
  return response;
}

function transport() {
  return new ai.DefaultChatTransport({
    api: options.api,
    headers: options.headers ?? {},
    fetch: recordingFetch,
  });
}

const runs = {
  async send() {
    return sendThroughChat(ai, transport(), options);
  },

  async resume() {
    const stream = await transport().reconnectToStream({
      chatId: options.chat,
      headers: undefined,
      body: undefined,
      metadata: undefined,
    });
    if (stream === null) return { message: null };
    let last;
    for await (const message of ai.readUIMessageStream({ stream, terminateOnError: true })) {
      last = message;
    }
    return { message: last === undefined ? null : JSON.parse(JSON.stringify(last)) };
  },
};

const run = runs[options.run];
if (run === undefined) throw new Error(`unknown run ${options.run}`);
const result = await run();
for (const entry of responses) entry.body = await entry.body;
process.stdout.write(JSON.stringify({ ...result, responses }));
