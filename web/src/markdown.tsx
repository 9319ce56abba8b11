// A deliberately small Markdown subset for model text, built as React elements (never
// as HTML): fenced code blocks, `inline code`, **bold**, [links](https://...) and bare
// http(s) URLs. Everything else stays as typed; the container keeps whitespace.
import type { ReactNode } from "react";

const FENCE = /```([^\n`]*)\n([\s\S]*?)(?:\n?```|$)/g;
const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"])/g;

export function Markdown({ text }: { text: string }): ReactNode {
  const out: ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    const start = match.index;
    // the newline before and after a fence belongs to the block, not to the text
    if (start > last) out.push(...inline(text.slice(last, start).replace(/\n$/, ""), out.length));
    const lang = (match[1] ?? "").trim();
    out.push(
      <pre key={out.length} className="code" data-lang={lang || undefined}>
        <code>{match[2]}</code>
      </pre>,
    );
    last = start + match[0].length;
    if (text[last] === "\n") last += 1;
  }
  if (last < text.length) out.push(...inline(text.slice(last), out.length));
  return out;
}

function inline(text: string, keyBase: number): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    const start = m.index;
    if (start > last) out.push(text.slice(last, start));
    const key = `${keyBase}-${out.length}`;
    if (m[1] !== undefined) out.push(<code key={key}>{m[1]}</code>);
    else if (m[2] !== undefined) out.push(<strong key={key}>{m[2]}</strong>);
    else if (m[3] !== undefined && m[4] !== undefined) out.push(<ExternalLink key={key} href={m[4]}>{m[3]}</ExternalLink>);
    else if (m[5] !== undefined) out.push(<ExternalLink key={key} href={m[5]}>{m[5]}</ExternalLink>);
    last = start + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A link that opens in a new tab; only http(s) URLs become links at all. */
export function ExternalLink({ href, children, ...rest }: { href: string; children: ReactNode } & Record<`data-${string}`, string>) {
  if (!isWebUrl(href)) return <span {...rest}>{children}</span>;
  return (
    <a href={href} target="_blank" rel="noreferrer noopener" {...rest}>
      {children}
    </a>
  );
}

export function isWebUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}
