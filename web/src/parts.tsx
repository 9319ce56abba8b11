// One component per UIMessage part type (protocol §5.2), and the message that holds them.
import { useState, type ReactNode } from "react";
import {
  getToolName,
  isToolUIPart,
  type DynamicToolUIPart,
  type FileUIPart,
  type ReasoningUIPart,
  type SourceDocumentUIPart,
  type SourceUrlUIPart,
  type Experimental_SteeringMessageUIPart as SteeringMessageUIPart,
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

/** The answer cannot go on by itself: it waits for an approval, or for a tool's output
 * that the page provides (useChat then continues it). */
export function isWaitingForUser(message: UIMessage): boolean {
  return (
    message.role === "assistant" &&
    message.parts.some(
      (part) =>
        isToolUIPart(part) &&
        (part.state === "approval-requested" ||
          part.state === "approval-responded" ||
          (!part.providerExecuted && (part.state === "input-streaming" || part.state === "input-available"))),
    )
  );
}

/** What a part needs to know of where its message stands. */
type Place = {
  /** The message is streaming now. */
  live: boolean;
  /** The message is the chat's last one: its approvals can still be answered. */
  current: boolean;
  onApproval: ApprovalHandler;
};

export function MessageView({
  message,
  live,
  current,
  onApproval,
  notice,
  footer,
}: {
  message: UIMessage;
  /** This message is the one streaming now. */
  live: boolean;
  /** This message is the last one of the chat. */
  current: boolean;
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
      <div className="message-body">
        {renderParts(message.parts, message.role === "user", { live, current, onApproval })}
      </div>
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

function renderParts(parts: Part[], plainText: boolean, place: Place): ReactNode[] {
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
      // the user's text as typed; the model's as Markdown
      out.push(
        <div
          key={key}
          className={plainText ? "text text--plain" : "text"}
          data-testid="text"
          data-state={part.state ?? "done"}
        >
          {plainText ? part.text : <Markdown text={part.text} />}
        </div>,
      );
    } else if (part.type === "reasoning") {
      out.push(<Reasoning key={key} part={part} live={place.live} />);
    } else if (isToolUIPart(part)) {
      out.push(<ToolView key={key} part={part} current={place.current} onApproval={place.onApproval} />);
    } else if (part.type === "file") {
      out.push(<FileView key={key} part={part} />);
    } else if (part.type === "steering-message") {
      out.push(<SteeringView key={key} part={part} />);
    } else if (part.type.startsWith("data-")) {
      const data = (part as { data?: unknown }).data;
      out.push(<DataView key={key} name={part.type.slice(5)} data={data} />);
    }
    // anything else (a part type this page does not know) is left out
  });
  flushSources();
  return out;
}

/** A message the user sent while the answer ran (AI SDK 7 steering): where the answer
 * read it, before the step whose model call got it. */
function SteeringView({ part }: { part: SteeringMessageUIPart }) {
  const text = part.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
  return (
    <aside className="steering" data-testid="steering" data-steering-id={part.id} aria-label="Your message while it was answering">
      <span className="steering-label">You, while it was answering:</span>
      {text ? (
        <span className="steering-text" data-testid="steering-text">
          {text}
        </span>
      ) : null}
      {part.parts.map((p, i) => (p.type === "file" ? <FileView key={`file-${i}`} part={p} /> : null))}
    </aside>
  );
}

function Reasoning({ part, live }: { part: ReasoningUIPart; live: boolean }) {
  const streaming = live && part.state === "streaming";
  // Open while it streams, closed once done, unless the reader opened or closed it. The
  // element's own toggle events (from these changes of `open`) leave `open` as it is:
  // only a click makes the DOM differ from what was rendered.
  const [chosen, setChosen] = useState<boolean | null>(null);
  const open = chosen ?? streaming;
  if (!streaming && !part.text) return null; // e.g. encrypted reasoning with no summary
  return (
    <details
      className="reasoning"
      data-testid="reasoning"
      data-state={streaming ? "streaming" : "done"}
      open={open}
      onToggle={(event) => {
        if (event.currentTarget.open !== open) setChosen(event.currentTarget.open);
      }}
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

function ToolView({ part, current, onApproval }: { part: ToolPart; current: boolean; onApproval: ApprovalHandler }) {
  const name = getToolName(part);
  const clientSide = CLIENT_TOOLS.has(name);
  const rawInput = (part as { rawInput?: unknown }).rawInput;
  // an output the tool is still replacing: progress, not the result
  const running = part.state === "output-available" && part.preliminary === true;
  // asked in an earlier answer and never answered: the conversation moved on
  const expired = part.state === "approval-requested" && !current;
  const stateLabel = running ? "running…" : expired ? "expired" : (STATE_LABELS[part.state] ?? part.state);
  const stateClass = running ? "running" : expired ? "expired" : part.state;
  return (
    <section
      className={`tool tool--${stateClass}`}
      data-testid="tool"
      data-tool-name={name}
      data-tool-call-id={part.toolCallId}
      data-state={part.state}
      data-preliminary={running ? "true" : undefined}
      data-expired={expired ? "true" : undefined}
      aria-label={`Tool ${name}`}
    >
      <header className="tool-head">
        <span className="tool-name">{name}</span>
        {part.title && part.title !== name ? <span className="tool-title">{part.title}</span> : null}
        <span className="tool-state" data-testid="tool-state">
          {stateLabel}
        </span>
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
      {running ? (
        <Progress output={part.output} />
      ) : part.state === "output-available" ? (
        <Json label="Output" value={part.output} testid="tool-output" />
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
      {expired ? (
        <div className="tool-note" data-testid="approval-expired">
          Not answered before the conversation moved on: ask again to run it.
        </div>
      ) : part.state === "approval-requested" ? (
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

function Json({ label, value, testid }: { label: string; value: unknown; testid: string }) {
  return (
    <div className="json">
      <div className="json-label">{label}</div>
      <pre data-testid={testid}>{prettyJson(value)}</pre>
    </div>
  );
}

/** A tool's preliminary output: its `status` sentence when it has one, else the JSON. */
function Progress({ output }: { output: unknown }) {
  const status = isRecord(output) && typeof output.status === "string" ? output.status : null;
  return (
    <div className="tool-progress" data-testid="tool-progress" role="status">
      {status ?? <pre>{prettyJson(output)}</pre>}
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
  if (name === "agent" && isRecord(data) && typeof data.name === "string") {
    return (
      <div className="data-part data-part--agent" data-testid="data-part" data-name={name}>
        Agent: {data.name}
      </div>
    );
  }
  const forecast = name === "forecast" ? asForecast(data) : null;
  if (forecast) return <ForecastCard forecast={forecast} />;
  return (
    <div className={`data-part data-part--${name}`} data-testid="data-part" data-name={name}>
      <div className="data-name">{name}</div>
      <DataValue value={data} />
    </div>
  );
}

/** A data part's value as UI: records as labelled rows, lists as lists, the rest as text. */
function DataValue({ value, depth = 0 }: { value: unknown; depth?: number }): ReactNode {
  if (depth > 3) return <code>{prettyJson(value, 0)}</code>;
  if (Array.isArray(value)) {
    return (
      <ul className="data-list">
        {value.map((item, i) => (
          <li key={i}>
            <DataValue value={item} depth={depth + 1} />
          </li>
        ))}
      </ul>
    );
  }
  if (isRecord(value)) {
    return (
      <dl className="data-fields">
        {Object.entries(value).map(([key, item]) => (
          <div key={key} className="data-field">
            <dt>{key}</dt>
            <dd>
              <DataValue value={item} depth={depth + 1} />
            </dd>
          </div>
        ))}
      </dl>
    );
  }
  return <span>{value === null || value === undefined ? "–" : String(value)}</span>;
}

type Forecast = {
  city: string;
  days: { day: number; sky: string; highC: number; lowC: number }[];
  complete: boolean;
};

function asForecast(data: unknown): Forecast | null {
  if (!isRecord(data) || typeof data.city !== "string" || !Array.isArray(data.days)) return null;
  const days: Forecast["days"] = [];
  for (const day of data.days) {
    if (
      !isRecord(day) ||
      typeof day.day !== "number" ||
      typeof day.sky !== "string" ||
      typeof day.highC !== "number" ||
      typeof day.lowC !== "number"
    ) {
      return null;
    }
    days.push({ day: day.day, sky: day.sky, highC: day.highC, lowC: day.lowC });
  }
  return { city: data.city, days, complete: data.complete !== false };
}

const SKY_ICONS: Record<string, string> = { sunny: "☀️", cloudy: "☁️", rain: "🌧️", rainy: "🌧️", snow: "❄️", windy: "💨" };

/** The `data-forecast` part: a small card, one column per day, filled in as days arrive. */
function ForecastCard({ forecast }: { forecast: Forecast }) {
  return (
    <section
      className="forecast"
      data-testid="data-part"
      data-name="forecast"
      data-complete={String(forecast.complete)}
      aria-label={`Forecast for ${forecast.city}`}
    >
      <header className="forecast-head">
        <span className="forecast-title">Forecast · {forecast.city}</span>
        {forecast.complete ? null : <span className="forecast-pending">updating…</span>}
      </header>
      <ol className="forecast-days">
        {forecast.days.map((day) => (
          <li key={day.day} className="forecast-day" data-testid="forecast-day">
            <span className="forecast-label">Day {day.day}</span>
            <span className="forecast-icon" aria-hidden="true">
              {SKY_ICONS[day.sky] ?? "·"}
            </span>
            <span className="forecast-sky">{day.sky}</span>
            <span className="forecast-temp">
              <strong>{day.highC}°</strong> / {day.lowC}°C
            </span>
          </li>
        ))}
      </ol>
    </section>
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
