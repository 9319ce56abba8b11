// The prompt box: textarea (Enter sends, Shift+Enter is a newline), attachments, send, stop.
import { useRef, useState } from "react";

export const ACCEPTED_FILES = "image/*,application/pdf";

export function Composer({
  busy,
  onSend,
  onStop,
}: {
  /** A response is on its way (submitted or streaming). */
  busy: boolean;
  /** Send the prompt; false means it was not sent (the box keeps its content). */
  onSend: (text: string, files: File[]) => boolean;
  onStop: () => void;
}) {
  const [text, setText] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const empty = text.trim() === "" && files.length === 0;

  const send = () => {
    if (busy || empty) return;
    if (!onSend(text.trim(), files)) return;
    setText("");
    setFiles([]);
    if (fileInput.current) fileInput.current.value = "";
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
                  if (fileInput.current) fileInput.current.value = "";
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
            onChange={(event) => {
              const picked = Array.from(event.target.files ?? []);
              if (picked.length) setFiles([...files, ...picked]);
            }}
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
