// Model text as GitHub-flavoured Markdown (react-markdown + remark-gfm): headings, lists
// and task lists, emphasis and strikethrough, tables, quotes, code, links, autolinks.
//
// Safe with whatever a model writes: the Markdown becomes React elements, never HTML.
// Raw HTML in the text is shown as typed (react-markdown turns it into text; no
// rehype-raw here), only http(s) and mailto URLs become links, and images are shown as
// links rather than loaded (a model's image URL would make the browser call any server).
import type { ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";

const PLUGINS = [remarkGfm];

const COMPONENTS: Components = {
  a: ({ href, children }) => <ExternalLink href={href ?? ""}>{children}</ExternalLink>,
  img: ({ src, alt }) => (
    <ExternalLink href={typeof src === "string" ? src : ""}>{alt ? `[image: ${alt}]` : "[image]"}</ExternalLink>
  ),
  table: ({ children }) => (
    <div className="table-scroll">
      <table>{children}</table>
    </div>
  ),
  pre: ({ children }) => <pre className="code">{children}</pre>,
};

/** Only web and mail links survive; anything else (javascript:, data:, relative) is dropped. */
function safeUrl(url: string): string {
  return /^(https?:\/\/|mailto:)/i.test(url.trim()) ? url : "";
}

export function Markdown({ text }: { text: string }): ReactNode {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={PLUGINS} components={COMPONENTS} urlTransform={safeUrl}>
        {text}
      </ReactMarkdown>
    </div>
  );
}

/** A link that opens in a new tab; only http(s) and mailto URLs become links at all. */
export function ExternalLink({ href, children, ...rest }: { href: string; children: ReactNode } & Record<`data-${string}`, string>) {
  if (!isLinkUrl(href)) return <span {...rest}>{children}</span>;
  return (
    <a href={href} target="_blank" rel="noreferrer noopener" {...rest}>
      {children}
    </a>
  );
}

export function isLinkUrl(url: string): boolean {
  return /^(https?:\/\/|mailto:)/i.test(url);
}
