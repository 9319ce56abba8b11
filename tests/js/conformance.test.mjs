// Conformance tests: every check of every corpus case runs the SSE body
// through the real `ai` client named by the check (ai5 / ai6 / ai7).
//
//   UIWIRE_CORPUS=<file.jsonl> node --test conformance.test.mjs
//
// Default corpus: .corpus/corpus.jsonl next to this file. A missing or empty
// corpus is a failure, never zero passing tests.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  GENERATED_ID,
  SDKS,
  analyse,
  finishReasonOf,
  runChat,
  runRead,
  wire,
} from './harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const corpusPath = process.env.UIWIRE_CORPUS
  ? resolve(process.cwd(), process.env.UIWIRE_CORPUS)
  : resolve(HERE, '.corpus/corpus.jsonl');

function loadCorpus(path) {
  if (!existsSync(path)) {
    throw new Error(
      `corpus file not found: ${path} (set UIWIRE_CORPUS or generate .corpus/corpus.jsonl)`,
    );
  }
  const cases = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let item;
    try {
      item = JSON.parse(line);
    } catch (error) {
      throw new Error(`${path}:${i + 1}: not JSON: ${error.message}`);
    }
    const where = `${path}:${i + 1}`;
    assert.equal(typeof item.name, 'string', `${where}: "name" must be a string`);
    assert.equal(typeof item.sse, 'string', `${where}: "sse" must be a string`);
    assert.ok(
      Array.isArray(item.checks) && item.checks.length > 0,
      `${where}: "checks" must be a non-empty array`,
    );
    for (const check of item.checks) {
      assert.ok(check.sdk in SDKS, `${where}: unknown sdk ${JSON.stringify(check.sdk)}`);
      assert.equal(typeof check.expect?.valid, 'boolean', `${where}: expect.valid must be boolean`);
      if (check.expect.valid) {
        assert.ok(check.expect.message != null, `${where}: valid expectation needs "message"`);
      } else {
        const v = check.expect.violation;
        assert.ok(
          v != null && Number.isInteger(v.index) && ['json', 'schema', 'ordering'].includes(v.kind),
          `${where}: invalid expectation needs violation {index, kind: json|schema|ordering}`,
        );
      }
    }
    cases.push(item);
  }
  if (cases.length === 0) throw new Error(`corpus is empty: ${path}`);
  return cases;
}

let cases = [];
let loadError = null;
try {
  cases = loadCorpus(corpusPath);
} catch (error) {
  loadError = error;
}

if (loadError != null) {
  test('load corpus', () => {
    throw loadError;
  });
}

const stats = { cases: cases.length, perSdk: {}, valid: 0, invalid: 0, passed: 0, failed: 0 };

function describeViolation(v) {
  if (v == null) return 'none';
  const where = v.chunkType != null ? ` ${v.chunkType}/${v.chunkId}` : '';
  return `${v.kind} at event ${v.index}${where}: ${String(v.error?.message ?? v.error).split('\n')[0]}`;
}

/** `expected` with its id replaced when the SDK generated the id client-side. */
function normaliseId(expected, actual) {
  if (expected?.id === '' && GENERATED_ID.test(actual?.id ?? '')) {
    return { ...expected, id: actual.id };
  }
  return expected;
}

async function checkStream(t, sdk, item, check) {
  const expect = check.expect;
  const result = await analyse(sdk, item.sse, check.message);
  const { violation } = result;

  if (expect.valid) {
    assert.ok(violation == null, `[parse/readUIMessageStream] unexpected violation: ${describeViolation(violation)}`);
    assert.deepStrictEqual(
      result.finalMessage,
      wire(expect.message),
      '[readUIMessageStream] assembled message differs from expect.message',
    );
    if (
      result.lastSnapshot !== undefined &&
      !isDeepEqual(result.lastSnapshot, result.finalMessage)
    ) {
      t.diagnostic(
        'note: the last readUIMessageStream snapshot lags the final state ' +
          '(a trailing chunk such as start-step changed state without a snapshot)',
      );
    }
    assert.deepStrictEqual(result.errorTexts, expect.errorTexts ?? [], '[readUIMessageStream] error chunk texts');
    if ('finishReason' in expect) {
      assert.equal(result.finishReason, expect.finishReason ?? null, 'finishReason of the finish chunks');
    }
  } else {
    assert.ok(violation != null, `[parse/readUIMessageStream] expected a ${expect.violation.kind} violation at event ${expect.violation.index}, but the stream is valid`);
    const actual = { index: violation.index, kind: violation.kind };
    const wanted = { index: expect.violation.index, kind: expect.violation.kind };
    // chunkType / chunkId exist on UIMessageStreamError (ai >= 6.0.35); ai5 throws other errors.
    if (violation.kind === 'ordering' && sdk.UIMessageStreamError != null) {
      for (const key of ['chunkType', 'chunkId']) {
        if (expect.violation[key] != null) {
          actual[key] = violation[key];
          wanted[key] = expect.violation[key];
        }
      }
    }
    assert.deepStrictEqual(actual, wanted, `[parse/readUIMessageStream] first violation: ${describeViolation(violation)}`);
  }

  if (check.message == null) await checkChat(t, sdk, item, expect, result);
}

async function checkChat(t, sdk, item, expect, result) {
  const { chat, finishes } = await runChat(sdk, item.sse);
  const { chunks, violation } = result;
  assert.equal(finishes.length, 1, '[useChat] onFinish must fire exactly once');
  const finish = finishes[0];

  // useChat processes chunks until the first `error` chunk or violation.
  let stop = violation?.index ?? chunks.length;
  const firstErrorChunk = chunks.findIndex(c => c.type === 'error');
  const stoppedByErrorChunk = firstErrorChunk >= 0 && firstErrorChunk < stop;
  if (stoppedByErrorChunk) stop = firstErrorChunk;

  if (stoppedByErrorChunk) {
    assert.equal(chat.status, 'error', '[useChat] status after an error chunk');
    assert.equal(chat.error?.message, chunks[stop].errorText, '[useChat] chat.error is the error chunk text');
    if (expect.valid) {
      assert.equal(chat.error?.message, (expect.errorTexts ?? [])[0], '[useChat] chat.error vs expect.errorTexts[0]');
    }
  } else if (violation != null) {
    assert.equal(chat.status, 'error', '[useChat] status after a violation');
    const kindOk = {
      json: sdk.JSONParseError.isInstance(chat.error),
      schema: sdk.TypeValidationError.isInstance(chat.error),
      ordering:
        !sdk.JSONParseError.isInstance(chat.error) &&
        !sdk.TypeValidationError.isInstance(chat.error),
    }[violation.kind];
    assert.ok(kindOk, `[useChat] chat.error should be a ${violation.kind} error, got ${chat.error?.name}: ${chat.error?.message}`);
    assert.equal(chat.error?.message, violation.error?.message, '[useChat] chat.error matches the violation');
  } else {
    assert.equal(chat.status, 'ready', `[useChat] status (error: ${chat.error?.message})`);
    assert.equal(chat.error, undefined, '[useChat] chat.error');
  }
  assert.equal(finish.isError, chat.status === 'error', '[useChat] onFinish isError');

  let expectedMessage;
  let expectedReason;
  if (expect.valid && !stoppedByErrorChunk) {
    expectedMessage = wire(expect.message);
    expectedReason = expect.finishReason ?? null;
  } else {
    // State at the stop point, assembled by the same SDK's readUIMessageStream.
    const prefix = chunks.slice(0, stop);
    expectedMessage = (await runRead(sdk, prefix, null, { flush: true })).snapshots.at(-1);
    expectedReason = finishReasonOf(prefix);
  }
  assert.deepStrictEqual(
    finish.message,
    normaliseId(expectedMessage, finish.message),
    '[useChat] assembled assistant message (onFinish message)',
  );
  assert.equal(finish.finishReason ?? null, expectedReason, '[useChat] onFinish finishReason');

  const displayed = wire(chat.lastMessage);
  if (!isDeepEqual(displayed, finish.message)) {
    t.diagnostic(
      `note: chat.messages' last entry (role ${displayed?.role}, ${displayed?.parts?.length} parts) ` +
        'differs from the final assembled state (useChat renders on write() only)',
    );
  }
}

function isDeepEqual(a, b) {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

const seenNames = new Map();
for (const item of cases) {
  for (const check of item.checks) {
    const base = `${item.name} [${check.sdk}]`;
    const n = (seenNames.get(base) ?? 0) + 1;
    seenNames.set(base, n);
    const name = n === 1 ? base : `${base} #${n}`;
    stats.perSdk[check.sdk] = (stats.perSdk[check.sdk] ?? 0) + 1;
    if (check.expect.valid) stats.valid++;
    else stats.invalid++;
    test(name, async t => {
      try {
        await checkStream(t, SDKS[check.sdk], item, check);
        stats.passed++;
      } catch (error) {
        stats.failed++;
        throw error;
      }
    });
  }
}

// Structured outputs (data-output parts) carry uiwire's parse of the JSON so far: it
// must be what each client's own parsePartialJson makes of the same text.
for (const item of cases) {
  if (item.partialJson == null) continue;
  for (const [sdkName, entries] of Object.entries(item.partialJson)) {
    test(`${item.name} parsePartialJson [${sdkName}]`, async () => {
      const sdk = SDKS[sdkName];
      assert.ok(sdk != null, `unknown sdk ${sdkName}`);
      for (const entry of entries) {
        const got = await sdk.parsePartialJson(entry.text);
        // as JSON on the wire: -0 travels as 0 (and Python has no integer -0)
        assert.deepStrictEqual(
          { value: got.value === undefined ? null : wire(got.value), state: got.state },
          { value: wire(entry.value), state: entry.state },
          `parsePartialJson(${JSON.stringify(entry.text)})`,
        );
      }
    });
  }
}

after(() => {
  const perSdk = Object.entries(stats.perSdk)
    .map(([sdk, n]) => `${sdk}=${n}`)
    .join(' ');
  console.log(
    `uiwire conformance: corpus=${corpusPath} cases=${stats.cases} checks: ${perSdk || 'none'} ` +
      `expectations valid=${stats.valid} invalid=${stats.invalid} ` +
      `result passed=${stats.passed} failed=${stats.failed}`,
  );
});
