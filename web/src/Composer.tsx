// The prompt box: textarea (Enter sends, Shift+Enter is a newline), attachments (checked
// against the server's size limit before anything is sent), send, stop.
import { useEffect, useRef, useState } from "react";
import { uploadProblem } from "./errors";

export const ACCEPTED_FILES = "image/*,application/pdf";

/** Text to put back in the box (a message the server refused); a new object each time. */
export type Draft = { text: string };

export function Composer({
  busy,
  maxBodyBytes,
  draft,
  onSend,
  onStop,
}: {
  /** A response is on its way (submitted or streaming). */
  busy: boolean;
  /** The largest request the server takes (null: unknown, nothing is checked here). */
  maxBodyBytes: number | null;
  draft: Draft | null;
  /** Send the prompt; false means it was not sent (the box keeps its content). */
  onSend: (text: string, files: File[]) => boolean;
  onStop: () => void;
}) {
  const [text, setText] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const empty = text.trim() === "" && files.length === 0;

  useEffect(() => {
    if (draft) setText(draft.text);
  }, [draft]);

  const clearPicker = () => {
    if (fileInput.current) fileInput.current.value = "";
  };

  const send = () => {
    if (busy || empty) return;
    const problem = uploadProblem(files, text.trim(), maxBodyBytes);
    setNotice(problem);
    if (problem !== null) return;
    if (!onSend(text.trim(), files)) return;
    setText("");
    setFiles([]);
    clearPicker();
  };

  const attach = (picked: File[]) => {
    clearPicker();
    if (!picked.length) return;
    const problem = uploadProblem([...files, ...picked], text.trim(), maxBodyBytes);
    setNotice(problem);
    if (problem === null) setFiles([...files, ...picked]);
  };

  return (
    <form
      className="composer"
      aria-label="Send a message"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {notice ? (
        <p className="composer-notice" data-testid="upload-notice" role="alert">
          {notice}
        </p>
      ) : null}
      {files.length ? (
        <ul className="attachments" aria-label="Attachments">
          {files.map((file, i) => (
            <li key={`${file.name}-${i}`} className="attachment">
              <span>{file.name}</span>
              <button
                type="button"
                className="attachment-remove"
                aria-label={`Remove ${file.name}`}
                onClick={() => {
                  setFiles(files.filter((_, j) => j !== i));
                  setNotice(null);
                  clearPicker();
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <div className="composer-row">
        <label className="button button--icon attach" title="Attach images or PDFs">
          <input
            ref={fileInput}
            className="visually-hidden"
            data-testid="attach"
            type="file"
            accept={ACCEPTED_FILES}
            multiple
            aria-label="Attach images or PDFs"
            onChange={(event) => attach(Array.from(event.target.files ?? []))}
          />
          <span aria-hidden="true">+</span>
        </label>
        <textarea
          className="prompt"
          data-testid="prompt"
          aria-label="Message"
          placeholder="Message the agent…"
          title="Enter sends, Shift+Enter starts a new line"
          rows={Math.min(8, Math.max(1, text.split("\n").length))}
          value={text}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
              event.preventDefault();
              send();
            }
          }}
        />
        {busy ? (
          <button type="button" className="button" data-testid="stop" aria-label="Stop the response" onClick={onStop}>
            Stop
          </button>
        ) : null}
        <button
          type="submit"
          className="button button--primary"
          data-testid="send"
          aria-label="Send message"
          disabled={busy || empty}
        >
          Send
        </button>
      </div>
    </form>
  );
}
