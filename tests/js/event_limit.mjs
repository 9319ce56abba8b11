// Feeds single SSE events to the real `ai` 7 client's event parser (parseJsonEventStream,
// as DefaultChatTransport reads a response) and prints which ones it accepted, as JSON.
//
//   node event_limit.mjs '{"files": ["/tmp/event-1.txt", ...]}'
//
// Each file holds one event's line (`data: {...}`) without its blank line. The line
// arrives in one read and the blank line in the next: the split that makes the client
// buffer the whole line, the worst case for its per-event limit.

import { readFileSync } from 'node:fs';
import * as ai7 from 'ai7';

async function accepts(path) {
  const line = readFileSync(path);
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(line));
      controller.enqueue(new TextEncoder().encode('\n\n'));
      controller.close();
    },
  });
  const results = [];
  try {
    const parsed = ai7.parseJsonEventStream({ stream, schema: ai7.uiMessageChunkSchema });
    for await (const result of parsed) {
      results.push(result.success ? 'ok' : `invalid: ${String(result.error).slice(0, 200)}`);
    }
  } catch (error) {
    return { accepted: false, error: String(error).slice(0, 300) };
  }
  const accepted = results.length === 1 && results[0] === 'ok';
  return { accepted, error: accepted ? null : results.join('; ') || 'no event' };
}

const { files } = JSON.parse(process.argv[2]);
const out = [];
for (const path of files) out.push(await accepts(path));
console.log(JSON.stringify(out));
