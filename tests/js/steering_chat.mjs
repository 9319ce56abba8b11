// Steers a uiwire answer while the real `ai` 7 client reads it, in Node; prints what the
// client got, as JSON.
//
//   node steering_chat.mjs '{"api": "http://.../api/chat?user=u1", "steerUrl": "...",
//                            "chatId": "chat-1", "text": "...", "steer": {...},
//                            "after": "tool-input-available"}'
//
// The chat request goes through `DefaultChatTransport` (every chunk validated by its
// uiMessageChunkSchema); when a chunk of type `after` arrives, `steer` is POSTed to
// `steerUrl` (the answer still streaming). With `wsUrl` instead of `api`, it goes
// through `WebSocketChatTransport`, and the steer is a `steer` frame on the
// transport's own socket (which ignores the answer to a request id it did not send);
// `steerStatus` is then that answer frame. The stream is assembled by the client's own
// readUIMessageStream; the conversation is checked by validateUIMessages and converted
// by convertToModelMessages, as the next request's model input would be.

import { WebSocket } from 'undici';
import * as ai from 'ai7';

const options = JSON.parse(process.argv[2]);

const question = { id: 'u1', role: 'user', parts: [{ type: 'text', text: options.text }] };
const transport =
  options.wsUrl !== undefined
    ? new ai.WebSocketChatTransport({ url: options.wsUrl, webSocket: WebSocket })
    : new ai.DefaultChatTransport({ api: options.api });
const stream = await transport.sendMessages({
  chatId: options.chatId,
  messages: [question],
  trigger: 'submit-message',
  messageId: undefined,
  abortSignal: undefined,
});

const chunks = [];
let steerStatus = null;
let steerBody = null;
const reader = stream.getReader();
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  chunks.push(value);
  if (value.type === options.after && steerStatus === null && options.wsUrl !== undefined) {
    const socket = transport.connection.socket;
    const answered = new Promise(resolve => {
      socket.addEventListener('message', event => {
        const frame = JSON.parse(String(event.data));
        if (frame.requestId === 'steer-1') resolve(frame);
      });
    });
    socket.send(
      JSON.stringify({ type: 'steer', requestId: 'steer-1', id: options.chatId, message: options.steer }),
    );
    steerStatus = await answered;
  } else if (value.type === options.after && steerStatus === null) {
    const response = await fetch(options.steerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(options.steer),
    });
    steerStatus = response.status;
    steerBody = await response.json();
  }
}

const replay = new ReadableStream({
  start(controller) {
    for (const chunk of chunks) controller.enqueue(chunk);
    controller.close();
  },
});
let message = null;
for await (const partial of ai.readUIMessageStream({ stream: replay })) message = partial;
message = JSON.parse(JSON.stringify(message));

const messages = await ai.validateUIMessages({ messages: [question, message] });
const modelMessages = await ai.convertToModelMessages(messages);
transport.close?.();

console.log(JSON.stringify({ steerStatus, steerBody, chunks, message, modelMessages }));
