// One component per UIMessage part type (protocol §5.2), and the message that holds them.
import { useEffect, useRef, useState, type ReactNode } from "react";
import {
  getToolName,
  isToolUIPart,
  type DynamicToolUIPart,
  type FileUIPart,
  type ReasoningUIPart,
  type SourceDocumentUIPart,
  type SourceUrlUIPart,
  type ToolUIPart,
  type UIMessage,
} from "ai";
import { isRecord } from "./api";
import { ExternalLink, Markdown } from "./markdown";

type Part = UIMessage["parts"][number];
type ToolPart = ToolUIPart | DynamicToolUIPart;
type SourcePart = SourceUrlUIPart | SourceDocumentUIPart;

/** Tools the page itself runs (answered in useChat's onToolCall). */
export const CLIENT_TOOLS: ReadonlySet<string> = new Set(["get_local_time"]);

export type ApprovalHandler = (response: { id: string; approved: boolean; reason?: string }) => void;

export function MessageView({
  message,
  live,
  onApproval,
  notice,
  footer,
}: {
  message: UIMessage;
  /** This message is the one streaming now. */
  live: boolean;
  onApproval: ApprovalHandler;
  /** Shown under the parts (e.g. that the answer was interrupted). */
  notice?: ReactNode;
  footer?: ReactNode;
}) {
  const usage = usageOf(message.metadata);
  return (
    <article
      className={`message message--${message.role}`}
      data-testid="message"
      data-role={message.role}
      data-message-id={message.id}
      aria-label={message.role === "user" ? "You" : "Assistant"}
    >
      <div className="message-body">{renderParts(message.parts, live, onApproval)}</div>
      {notice}
      {usage || footer ? (
        <footer className="message-footer">
          {usage ? <UsageView usage={usage} /> : null}
          {footer}
        </footer>
      ) : null}
    </article>
  );
}

function renderParts(parts: Part[], live: boolean, onApproval: ApprovalHandler): ReactNode[] {
  const out: ReactNode[] = [];
  let sources: SourcePart[] = [];
  let steps = 0;
  const flushSources = () => {
    if (sources.length) out.push(<SourceList key={`sources-${out.length}`} sources={sources} />);
    sources = [];
  };
  parts.forEach((part, index) => {
    if (part.type === "source-url" || part.type === "source-document") {
      sources.push(part);
      return;
    }
    flushSources();
    const key = `${index}`;
    if (part.type === "step-start") {
      // a divider between steps: none before the first one
      if (steps++ > 0) out.push(<hr key={key} className="step" data-testid="step" aria-hidden="true" />);
      return;
    }
    if (part.type === "text") {
      out.push(
        <div key={key} className="text" data-testid="text" data-state={part.state ?? "done"}>
          <Markdown text={part.text} />
        </div>,
      );
    } else if (part.type === "reasoning") {
      out.push(<Reasoning key={key} part={part} live={live} />);
    } else if (isToolUIPart(part)) {
      out.push(<ToolView key={key} part={part} onApproval={onApproval} />);
    } else if (part.type === "file") {
      out.push(<FileView key={key} part={part} />);
    } else if (part.type.startsWith("data-")) {
      const data = (part as { data?: unknown }).data;
      out.push(<DataView key={key} name={part.type.slice(5)} data={data} />);
    }
    // anything else (a part type this page does not know) is left out
  });
  flushSources();
  return out;
}

function Reasoning({ part, live }: { part: ReasoningUIPart; live: boolean }) {
  const streaming = live && part.state === "streaming";
  const [open, setOpen] = useState(streaming);
  const wasStreaming = useRef(streaming);
  useEffect(() => {
    if (streaming) setOpen(true);
    else if (wasStreaming.current) setOpen(false); // close once it is done
    wasStreaming.current = streaming;
  }, [streaming]);
  if (!streaming && !part.text) return null; // e.g. encrypted reasoning with no summary
  return (
    <details
      className="reasoning"
      data-testid="reasoning"
      data-state={streaming ? "streaming" : "done"}
      open={open}
      onToggle={(event) => setOpen(event.currentTarget.open)}
    >
      <summary>{streaming ? "Thinking…" : "Reasoning"}</summary>
      <div className="reasoning-text">{part.text}</div>
    </details>
  );
}

const STATE_LABELS: Record<ToolPart["state"], string> = {
  "input-streaming": "preparing input…",
  "input-available": "running…",
  "approval-requested": "needs your approval",
  "approval-responded": "answered, waiting for the agent…",
  "output-available": "done",
  "output-error": "failed",
  "output-denied": "denied",
};

function ToolView({ part, onApproval }: { part: ToolPart; onApproval: ApprovalHandler }) {
  const name = getToolName(part);
  const clientSide = CLIENT_TOOLS.has(name);
  const rawInput = (part as { rawInput?: unknown }).rawInput;
  return (
    <section
      className={`tool tool--${part.state}`}
      data-testid="tool"
      data-tool-name={name}
      data-tool-call-id={part.toolCallId}
      data-state={part.state}
      aria-label={`Tool ${name}`}
    >
      <header className="tool-head">
        <span className="tool-name">{name}</span>
        {part.title && part.title !== name ? <span className="tool-title">{part.title}</span> : null}
        <span className="tool-state">{STATE_LABELS[part.state] ?? part.state}</span>
        {part.providerExecuted ? (
          <span className="badge" data-testid="provider-executed" title="Run by the model provider">
            provider-executed
          </span>
        ) : null}
        {clientSide ? (
          <span className="badge" title="Answered by this page">
            runs in your browser
          </span>
        ) : null}
      </header>
      {part.input !== undefined ? (
        <Json label="Input" value={part.input} testid="tool-input" />
      ) : rawInput !== undefined ? (
        <Json label="Input (raw)" value={rawInput} testid="tool-input" />
      ) : part.state === "input-streaming" ? (
        <div className="tool-pending">…</div>
      ) : null}
      {part.state === "output-available" ? (
        <Json
          label={part.preliminary ? "Output (preliminary)" : "Output"}
          value={part.output}
          testid="tool-output"
          preliminary={part.preliminary === true}
        />
      ) : null}
      {part.state === "output-error" ? (
        <div className="tool-error" data-testid="tool-error" role="alert">
          {part.errorText}
        </div>
      ) : null}
      {part.state === "output-denied" ? (
        <div className="tool-denied" data-testid="tool-denied">
          Denied{part.approval.reason ? `: ${part.approval.reason}` : ""}
        </div>
      ) : null}
      {part.state === "approval-requested" ? (
        <ApprovalForm name={name} approvalId={part.approval.id} onApproval={onApproval} />
      ) : null}
      {part.state === "approval-responded" ? (
        <div className="tool-note" data-testid="approval-response" data-approved={String(part.approval.approved)}>
          {part.approval.approved ? "Approved" : "Denied"}
          {part.approval.reason ? `: ${part.approval.reason}` : ""}
        </div>
      ) : null}
    </section>
  );
}

function ApprovalForm({ name, approvalId, onApproval }: { name: string; approvalId: string; onApproval: ApprovalHandler }) {
  const [reason, setReason] = useState("");
  const [sent, setSent] = useState(false);
  const respond = (approved: boolean) => {
    if (sent) return;
    setSent(true);
    const why = reason.trim();
    onApproval(approved || !why ? { id: approvalId, approved } : { id: approvalId, approved, reason: why });
  };
  return (
    <div className="approval" data-testid="approval">
      <p className="approval-question">Allow the agent to run {name} with this input?</p>
      <div className="approval-actions">
        <button
          type="button"
          className="button button--primary"
          data-testid="approve"
          aria-label={`Approve ${name}`}
          disabled={sent}
          onClick={() => respond(true)}
        >
          Approve
        </button>
        <input
          className="deny-reason"
          data-testid="deny-reason"
          type="text"
          aria-label={`Reason for denying ${name} (optional)`}
          placeholder="Reason for denying (optional)"
          value={reason}
          disabled={sent}
          onChange={(event) => setReason(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter") {
              event.preventDefault();
              respond(false);
            }
          }}
        />
        <button
          type="button"
          className="button button--danger"
          data-testid="deny"
          aria-label={`Deny ${name}`}
          disabled={sent}
          onClick={() => respond(false)}
        >
          Deny
        </button>
      </div>
    </div>
  );
}

function Json({ label, value, testid, preliminary }: { label: string; value: unknown; testid: string; preliminary?: boolean }) {
  return (
    <div className="json">
      <div className="json-label">
        {label}
        {preliminary ? (
          <span className="badge badge--muted" data-testid="preliminary">
            preliminary
          </span>
        ) : null}
      </div>
      <pre data-testid={testid} data-preliminary={preliminary ? "true" : undefined}>
        {prettyJson(value)}
      </pre>
    </div>
  );
}

export function prettyJson(value: unknown, indent = 2): string {
  try {
    return JSON.stringify(value, null, indent) ?? String(value);
  } catch {
    return String(value);
  }
}

function SourceList({ sources }: { sources: SourcePart[] }) {
  return (
    <div className="sources" aria-label="Sources">
      <span className="sources-label">Sources</span>
      {sources.map((source, i) =>
        source.type === "source-url" ? (
          <ExternalLink
            key={`${source.sourceId}-${i}`}
            href={source.url}
            data-testid="source"
            data-source-type="url"
          >
            {source.title || source.url}
          </ExternalLink>
        ) : (
          <span
            key={`${source.sourceId}-${i}`}
            className="source-document"
            data-testid="source"
            data-source-type="document"
            title={source.filename ?? source.mediaType}
          >
            {source.title}
          </span>
        ),
      )}
    </div>
  );
}

function FileView({ part }: { part: FileUIPart }) {
  const name = part.filename || lastPathSegment(part.url) || (part.mediaType.startsWith("image/") ? "image" : "file");
  const isData = part.url.startsWith("data:");
  const showable = isData || /^https:\/\//i.test(part.url);
  if (part.mediaType.startsWith("image/") && showable) {
    return (
      <figure className="file file--image" data-testid="file" data-media-type={part.mediaType}>
        <img src={part.url} alt={name} loading="lazy" />
        {part.filename ? <figcaption>{part.filename}</figcaption> : null}
      </figure>
    );
  }
  return (
    <div className="file" data-testid="file" data-media-type={part.mediaType}>
      {isData ? (
        <a href={part.url} download={part.filename || "file"}>
          {name}
        </a>
      ) : (
        <ExternalLink href={part.url}>{name}</ExternalLink>
      )}
      <span className="file-type">{part.mediaType}</span>
    </div>
  );
}

function lastPathSegment(url: string): string {
  if (!/^https?:\/\//i.test(url)) return "";
  try {
    return decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  } catch {
    return "";
  }
}

function DataView({ name, data }: { name: string; data: unknown }) {
  const agent = name === "agent" && isRecord(data) && typeof data.name === "string" ? data.name : null;
  return (
    <div className={`data-part data-part--${name}`} data-testid="data-part" data-name={name}>
      {agent !== null ? `Agent: ${agent}` : <><span className="data-name">{name}</span> <code>{prettyJson(data, 0)}</code></>}
    </div>
  );
}

type Usage = {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  reasoningTokens?: number;
  cachedInputTokens?: number;
};

const USAGE_KEYS = ["inputTokens", "outputTokens", "totalTokens", "reasoningTokens", "cachedInputTokens"] as const;

/** Token counts from message metadata: `metadata.usage` (uiwire's adapters), or top-level counts. */
export function usageOf(metadata: unknown): Usage | null {
  if (!isRecord(metadata)) return null;
  const source = isRecord(metadata.usage) ? metadata.usage : metadata;
  const usage: Usage = {};
  let found = false;
  for (const key of USAGE_KEYS) {
    const value = source[key];
    if (typeof value === "number" && Number.isFinite(value)) {
      usage[key] = value;
      found = true;
    }
  }
  return found ? usage : null;
}

function UsageView({ usage }: { usage: Usage }) {
  const items: string[] = [];
  if (usage.inputTokens !== undefined) items.push(`${usage.inputTokens} in`);
  if (usage.outputTokens !== undefined) items.push(`${usage.outputTokens} out`);
  const total = usage.totalTokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
  items.push(`${total} total`);
  if (usage.reasoningTokens) items.push(`${usage.reasoningTokens} reasoning`);
  if (usage.cachedInputTokens) items.push(`${usage.cachedInputTokens} cached`);
  return (
    <span className="usage" data-testid="usage" title="Token usage">
      Tokens: {items.join(" · ")}
    </span>
  );
}
