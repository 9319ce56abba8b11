// The prompt box: textarea (Enter sends, Shift+Enter is a newline), attachments (checked
// against the server's size limit before anything is sent), send, stop; while an answer
// streams, steer: the text goes to the running answer, which reads it at its next step.
import { useEffect, useRef, useState } from "react";
import { uploadProblem } from "./errors";

export const ACCEPTED_FILES = "image/*,application/pdf";

/** Text to put back in the box (a message the server refused); a new object each time. */
export type Draft = { text: string };

/** What became of the last steer, shown above the box. */
export type SteerNotice = { sentence: string; refused: boolean };

export function Composer({
  busy,
  steerable,
  maxBodyBytes,
  draft,
  steerNotice,
  onSend,
  onSteer,
  onStop,
}: {
  /** A response is on its way (submitted or streaming). */
  busy: boolean;
  /** The answer streams and can be steered: the box's text goes to it (`onSteer`). */
  steerable: boolean;
  /** The largest request the server takes (null: unknown, nothing is checked here). */
  maxBodyBytes: number | null;
  draft: Draft | null;
  steerNotice: SteerNotice | null;
  /** Send the prompt; false means it was not sent (the box keeps its content). */
  onSend: (text: string, files: File[]) => boolean;
  /** Send the text to the running answer; false means it was not sent. */
  onSteer: (text: string) => boolean;
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

  // steering takes text only: attachments wait for a new message
  const steering = busy && steerable;
  const canSteer = steering && text.trim() !== "" && files.length === 0;

  const send = () => {
    if (steering) {
      if (canSteer && onSteer(text.trim())) setText("");
      return;
    }
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
      {steerNotice ? (
        <p
          className={steerNotice.refused ? "composer-notice" : "composer-notice composer-notice--info"}
          data-testid="steer-notice"
          data-refused={String(steerNotice.refused)}
          role={steerNotice.refused ? "alert" : "status"}
        >
          {steerNotice.sentence}
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
          placeholder={steering ? "Steer the answer: the agent reads this at its next step…" : "Message the agent…"}
          title={
            steering
              ? "Enter sends this to the running answer, Shift+Enter starts a new line"
              : "Enter sends, Shift+Enter starts a new line"
          }
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
        {steering ? (
          <button
            type="submit"
            className="button button--primary"
            data-testid="steer"
            aria-label="Steer the answer with this message"
            title={files.length ? "Attachments go with a new message, once the answer has ended" : undefined}
            disabled={!canSteer}
          >
            Steer
          </button>
        ) : (
          <button
            type="submit"
            className="button button--primary"
            data-testid="send"
            aria-label="Send message"
            disabled={busy || empty}
          >
            Send
          </button>
        )}
      </div>
    </form>
  );
}
