// Human sentences for what can go wrong: a request the server refused (its JSON error
// body is for developers, never shown), a server out of reach, an answer that failed,
// and attachments too large to send.
import { isRecord } from "./api";

export type Problem = {
  /** What the page says, in a sentence. */
  sentence: string;
  /** The server refused the request (4xx): the message never reached the chat, and
   * sending it again as it is would be refused again. */
  refused: boolean;
  /** Sending again may work (a failed answer, a server error, the network). */
  retry: boolean;
};

/** The HTTP status of a refused request (useChat throws the SDK's APICallError). */
function statusOf(error: Error): number | null {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === "number" ? status : null;
}

/** The limit a 413 named, from the body's `fields[].type`. */
function refusedField(error: Error): string | null {
  const body = (error as { responseBody?: unknown }).responseBody;
  return typeof body === "string" ? fieldType(body) : null;
}

/** The `type` of the first field a refusal's JSON body names (`no_running_answer`,
 * `too_many_parts`...), or null. */
function fieldType(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    const fields = isRecord(parsed) && isRecord(parsed.error) ? parsed.error.fields : undefined;
    const first: unknown = Array.isArray(fields) ? fields[0] : undefined;
    return isRecord(first) && typeof first.type === "string" ? first.type : null;
  } catch {
    return null;
  }
}

export function describeError(error: Error, maxBodyBytes: number | null): Problem {
  const status = statusOf(error);
  if (status !== null) return describeRefusal(error, status, maxBodyBytes);
  if (error instanceof TypeError) {
    // fetch's own failure: the server is down or the network is gone
    return { sentence: "Could not reach the server. Check that it is running, then try again.", refused: false, retry: true };
  }
  // an error in the answer's stream: the server's text, already masked and short
  // (anything that looks like a dump is replaced)
  const text = error.message.trim();
  const readable = text !== "" && text.length <= 300 && !/^[[{<]/.test(text);
  return {
    sentence: readable ? `The answer failed: ${text}` : "The answer failed. Try again.",
    refused: false,
    retry: true,
  };
}

function describeRefusal(error: Error, status: number, maxBodyBytes: number | null): Problem {
  const refused = (sentence: string): Problem => ({ sentence, refused: true, retry: false });
  switch (status) {
    case 413: {
      const field = refusedField(error);
      if (field === "too_many_messages" || field === "too_many_parts" || field === "too_many_values") {
        return refused("Your message was not sent: it holds more than the server accepts in one message.");
      }
      const limit = maxBodyBytes !== null ? ` (${formatBytes(maxBodyBytes)} at most)` : "";
      return refused(
        `Your message was not sent: it is larger than the server accepts${limit}. Remove or shrink the attachments and send it again.`,
      );
    }
    case 408:
      return { sentence: "Your message took too long to upload and was not sent. Try again.", refused: true, retry: false };
    case 400:
    case 415:
    case 422:
      return refused("Your message was not sent: the server could not accept it as it is.");
    case 401:
    case 403:
      return refused("You are not allowed to use this chat.");
    case 404:
      return refused("This chat no longer exists. Start a new chat.");
    case 409:
      return refused("This chat changed elsewhere (another tab?). Reload the page to see it.");
    case 429:
      return { sentence: "Too many messages at once. Wait a moment, then try again.", refused: true, retry: false };
    default:
      return status >= 500
        ? { sentence: "The server had a problem and could not answer. Try again in a moment.", refused: false, retry: true }
        : refused("Your message was not sent: the server refused it.");
  }
}

/** A steer the server refused (`POST /api/chat/{id}/steer`), in a sentence. */
export function describeSteerRefusal(status: number, body: string, maxBodyBytes: number | null): string {
  const field = fieldType(body);
  switch (status) {
    case 409:
      return field === "no_running_answer"
        ? "The answer ended before your message reached it. It is back in the box: send it as a new message."
        : "This agent cannot read messages while it answers. Send yours once the answer has ended.";
    case 429:
      return "Several of your messages already wait for the answer's next step. Wait a moment, then try again.";
    case 413: {
      if (field === "too_many_parts" || field === "too_many_values") {
        return "Your message holds more than the server accepts in one message, so the answer did not get it.";
      }
      const limit = maxBodyBytes !== null ? ` (${formatBytes(maxBodyBytes)} at most)` : "";
      return `Your message is larger than the server accepts${limit}, so the answer did not get it.`;
    }
    case 400:
    case 415:
    case 422:
      return "The server could not accept your message as it is, so the answer did not get it.";
    case 401:
    case 403:
      return "You are not allowed to use this chat.";
    case 404:
      return "This chat no longer exists. Start a new chat.";
    default:
      return status >= 500
        ? "The server had a problem and could not pass your message on. Try again in a moment."
        : "The server refused your message, so the answer did not get it.";
  }
}

/** A steer that could not be sent at all (the network, the server down). */
export const STEER_UNREACHABLE = "Could not reach the server, so the answer did not get your message. Try again.";

/** Bytes as a person reads them: "900 bytes", "12 KB", "6.5 MB" (1 KB = 1024 bytes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 10 ? Math.floor(value * 10) / 10 : Math.floor(value);
  return `${shown} ${units[unit]}`;
}

/** Room left in a request body for the message's JSON around its files. */
const BODY_MARGIN = 16 * 1024;

/** The most file bytes one message can carry: files travel as base64 `data:` URLs (4
 * bytes for every 3) inside a body of at most `maxBodyBytes`. */
export function maxAttachmentBytes(maxBodyBytes: number): number {
  return Math.max(0, Math.floor(((maxBodyBytes - BODY_MARGIN) * 3) / 4));
}

/** Why `files` (with `text`) cannot be sent in one message, or null when they can. */
export function uploadProblem(files: File[], text: string, maxBodyBytes: number | null): string | null {
  if (maxBodyBytes === null || files.length === 0) return null;
  const textBytes = new TextEncoder().encode(text).length;
  const allowed = maxAttachmentBytes(maxBodyBytes) - textBytes;
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total <= allowed) return null;
  const limit = formatBytes(Math.max(0, allowed));
  if (files.length === 1) {
    const [file] = files;
    return `“${file!.name}” (${formatBytes(file!.size)}) is too large to send: a message can carry at most ${limit} of attachments.`;
  }
  return `These attachments (${formatBytes(total)} together) are too large to send: a message can carry at most ${limit} of attachments.`;
}
