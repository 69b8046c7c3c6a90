/**
 * Rewrites the old documentation citations in place (`pnpm docs:rewrite-citations`, `--dry-run` to
 * only list the changes), then runs the citation check:
 *
 * - `spec §2.5`, `mandrill-spec.md §3.5–3.7`, `§2.5, §6` (the numbering of the team's old Mandrill
 *   notes) → `docs/mandrill.md#api-errors`, one citation per section;
 * - `DESIGN.md "Storage interfaces"`, `DESIGN.md defaults`, bare `DESIGN.md` → `docs/design.md#…`;
 * - a few phrases that named "the spec" in prose.
 *
 * Source files get plain citations (`docs/mandrill.md#api-errors`); Markdown prose gets links relative
 * to the file (`[API errors](../../docs/mandrill.md#api-errors)`), and a Markdown heading that carried a
 * citation keeps its title and gets a "Mandrill's behaviour:" line below it. Running it twice changes
 * nothing the second time.
 *
 * doc-citations: ignore-file (the mapping below is made of the patterns the checker reports)
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  fencedLines,
  findCitationProblems,
  formatProblems,
  markdownHeadings,
  REPO_ROOT,
  repositoryFiles,
} from "./check-doc-citations.js";

type Doc = "mandrill" | "design";

/** Sections of the old Mandrill notes → headings of docs/mandrill.md. */
export const SPEC_SECTIONS: Readonly<Record<string, string>> = {
  "1": "smtp",
  "1.1": "smtp-connection-and-authentication",
  "1.2": "how-mandrill-handles-smtp-mail",
  "1.3": "x-mc-headers",
  "2": "http-api",
  "2.1": "api-conventions",
  "2.2": "api-methods-the-kit-uses",
  "2.3": "send-request",
  "2.4": "send-response",
  "2.5": "api-errors",
  "2.6": "rate-limits-and-quotas",
  "2.7": "api-keys",
  "3": "webhooks",
  "3.1": "webhook-registration",
  "3.2": "webhook-url-validation",
  "3.3": "webhook-wire-format",
  "3.4": "webhook-retries",
  "3.5": "message-events",
  "3.6": "sync-events",
  "3.7": "inbound-events",
  "4": "webhook-signature",
  "4.1": "signature-algorithm",
  "4.2": "signature-reference-implementation",
  "4.3": "other-signature-implementations",
  "4.4": "signature-pitfalls",
  "4.5": "signature-test-vectors",
  "5": "rejection-denylist",
  "6": "troubleshooting",
  "7": "what-the-simulator-reproduces",
  "8": "unconfirmed-behaviour",
  "9": "sources",
};

/** Sections of the old DESIGN.md (lower-cased titles) → headings of docs/design.md. */
export const DESIGN_SECTIONS: Readonly<Record<string, string>> = {
  packages: "packages",
  "data flow": "data-flow",
  "storage interfaces": "storage-interfaces",
  "plugin composition in a host app": "plugin-composition",
  "plugin composition": "plugin-composition",
  "suppression policy": "suppression-policy",
  "suppression policy (defaults; every threshold configurable)": "suppression-policy",
  "failure semantics": "failure-semantics",
  "scale path": "scaling",
};

/**
 * Prose that cited the old documents without a section number. `{mandrill:anchor}` and
 * `{design:anchor}` (anchor optional) become citations in the file's form. Whitespace in `from`
 * also matches a line break inside a comment.
 */
export const PHRASES: readonly { from: string; to: string }[] = [
  {
    from: "the team's Mandrill specification (`mandrill-spec.md`; section numbers below refer to it — see [Assumptions](#assumptions) for where it says UNCONFIRMED)",
    to: "the Mandrill behaviour described in {mandrill:} (see [Assumptions](#assumptions) for what it does where that behaviour is unconfirmed)",
  },
  {
    from: "Where the spec says UNCONFIRMED (§8), the simulator picks a behaviour:",
    to: "Where {mandrill:unconfirmed-behaviour} finds no source for Mandrill's behaviour, the simulator picks one:",
  },
  { from: "the samples of the Mandrill spec", to: "the samples of {mandrill:webhooks}" },
  { from: "every sample of the spec", to: "every sample of {mandrill:webhooks}" },
  { from: "as printed in the spec", to: "as printed in {mandrill:sync-events}" },
  {
    from: "The spec's signature vectors",
    to: "The published signature vectors ({mandrill:signature-test-vectors})",
  },
  {
    from: "the spec's literal vectors 12 and 9",
    to: "the literal vectors 12 and 9 of {mandrill:signature-test-vectors}",
  },
  { from: "the spec's vectors", to: "the published vectors" },
  {
    from: "`mandrill_events` value, from the spec",
    to: "`mandrill_events` value, from {mandrill:signature-test-vectors}",
  },
  { from: "defaults of DESIGN.md", to: "defaults of {design:suppression-policy}" },
  { from: "DESIGN.md defaults", to: "the defaults of {design:suppression-policy}" },
  { from: "DESIGN.md suppression policy", to: "{design:suppression-policy}" },
  { from: "(DESIGN.md table)", to: "({design:suppression-policy})" },
  { from: "The composition DESIGN.md shows", to: "The composition {design:plugin-composition} shows" },
  { from: "suppression policy of DESIGN.md", to: "suppression policy ({design:suppression-policy})" },
  { from: "DESIGN.md asks for", to: "{design:failure-semantics} asks for" },
];

const DOC_FILES: Readonly<Record<Doc, string>> = { mandrill: "docs/mandrill.md", design: "docs/design.md" };

// A word gap, possibly across a line break inside a `*` or `//` comment.
const GAP = String.raw`(?:[ \t]*\n[ \t]*(?:\*(?!\/)|\/\/)?[ \t]*|[ \t]+)`;
const NUM = String.raw`\d+(?:\.\d+)?`;
const ITEM = String.raw`§\s?${NUM}(?:\s*[–-]\s*§?\s?${NUM})?`;
// Optional "spec"/"mandrill-spec.md" before it, then one or more sections: §2.3–2.4, §5 / §3.5/§3.6.
const SPEC_CITATION = new RegExp(
  String.raw`(?:([ \t]*)\b(mandrill-spec\.md|spec)(${GAP}))?(${ITEM}(?:\s*(?:,|\/|and|&)\s*${ITEM})*)`,
  "g",
);
const DESIGN_QUOTED = /\bDESIGN\.md\s+"([^"\n]+)"/g;
// Left alone when a quoted section follows that DESIGN_SECTIONS does not know (reported instead).
const BARE = /\b(DESIGN|mandrill-spec)\.md\b(?!\s+")/g;
const MD_HEADING_CITATION = new RegExp(
  String.raw`^(#{1,6} .*?)[ \t]*\((?:(?:mandrill-spec\.md|spec)[ \t]+)?(${ITEM}(?:\s*(?:,|\/|and|&)\s*${ITEM})*)\)[ \t]*$`,
  "gm",
);

/** `2.3–2.4, §5` → ["2.3", "2.4", "5"]; ranges expand (`3.5–3.7`, `3–4`). */
export function expandSections(list: string): string[] {
  const out: string[] = [];
  for (const item of list.split(/\s*(?:,|\/|and|&)\s*/)) {
    const [from, to] = item
      .replace(/§\s?/g, "")
      .split(/\s*[–-]\s*/)
      .map((s) => s.trim());
    if (from === undefined || from === "") continue;
    if (to === undefined) {
      out.push(from);
      continue;
    }
    const [fMajor, fMinor] = from.split(".").map(Number);
    const [tMajor, tMinor] = to.includes(".") ? to.split(".").map(Number) : [Number(to), undefined];
    if (fMinor !== undefined && tMinor !== undefined && fMajor === tMajor) {
      for (let n = fMinor; n <= tMinor; n++) out.push(`${fMajor}.${n}`);
    } else if (fMinor === undefined && tMinor === undefined && fMajor !== undefined && tMajor !== undefined) {
      for (let n = fMajor; n <= tMajor; n++) out.push(String(n));
    } else out.push(from, to);
  }
  return [...new Set(out)];
}

/** How citations are written at one place of one file. */
interface Target {
  /** Repository-relative path of the file being rewritten. */
  file: string;
  /** Markdown prose (links) rather than code or a code block (plain citations). */
  markdown: boolean;
}

/** Titles of the headings of the two documents, by anchor, to name links and check the mapping. */
function loadTitles(): Record<Doc, Map<string, string>> {
  const titles = {} as Record<Doc, Map<string, string>>;
  for (const doc of Object.keys(DOC_FILES) as Doc[]) {
    const text = readFileSync(path.join(REPO_ROOT, DOC_FILES[doc]), "utf8");
    titles[doc] = new Map(markdownHeadings(text).map((h) => [h.anchor, h.title.replace(/`/g, "")]));
  }
  return titles;
}

const titles = loadTitles();

/** Fails loudly if the mapping names an anchor the documents do not have. */
function checkMapping(): void {
  const missing: string[] = [];
  const need = (doc: Doc, anchor: string) => {
    if (anchor !== "" && !titles[doc].has(anchor)) missing.push(`${DOC_FILES[doc]}#${anchor}`);
  };
  for (const a of Object.values(SPEC_SECTIONS)) need("mandrill", a);
  for (const a of Object.values(DESIGN_SECTIONS)) need("design", a);
  for (const p of PHRASES)
    for (const m of p.to.matchAll(/\{(mandrill|design):([\w-]*)\}/g)) need(m[1] as Doc, m[2] ?? "");
  if (missing.length > 0) throw new Error(`The citation map names missing headings: ${missing.join(", ")}`);
}

function cite(doc: Doc, anchor: string, target: Target): string {
  const docPath = DOC_FILES[doc];
  if (!target.markdown) return anchor === "" ? docPath : `${docPath}#${anchor}`;
  // Package READMEs are published to npm, where only absolute links work.
  const rel = /^packages\/[^/]+\/README\.md$/.test(target.file)
    ? `https://github.com/mandrill-kit/mandrill-kit/blob/main/${docPath}`
    : path.posix.relative(path.posix.dirname(target.file), docPath);
  const title = anchor === "" ? docPath : (titles[doc].get(anchor) ?? anchor);
  return `[${title}](${rel}${anchor === "" ? "" : `#${anchor}`})`;
}

/** Whether offset `at` of `text` is in a fenced block or an inline code span (Markdown only). */
function inCode(text: string, at: number, fenced: readonly boolean[]): boolean {
  const lineNo = text.slice(0, at).split("\n").length - 1;
  if (fenced[lineNo]) return true;
  const lineStart = text.lastIndexOf("\n", at - 1) + 1;
  return (text.slice(lineStart, at).match(/`/g)?.length ?? 0) % 2 === 1;
}

/** Replaces every match of `re` in `text`, computing each replacement with the match's context. */
function replaceAll(
  text: string,
  re: RegExp,
  file: string,
  replace: (m: RegExpExecArray, target: Target) => string | undefined,
): string {
  const isMarkdown = file.endsWith(".md");
  const fenced = isMarkdown ? fencedLines(text.split("\n")) : [];
  let out = "";
  let last = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index ?? 0;
    const target = { file, markdown: isMarkdown && !inCode(text, at, fenced) };
    const replacement = replace(m as RegExpExecArray, target);
    if (replacement === undefined) continue;
    out += text.slice(last, at) + replacement;
    last = at + m[0].length;
  }
  return out + text.slice(last);
}

function phraseRegExp(phrase: string): RegExp {
  const words = phrase.split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(words.join(GAP), "g");
}

function renderPlaceholders(text: string, target: Target): string {
  return text.replace(/\{(mandrill|design):([\w-]*)\}/g, (_all, doc: Doc, anchor: string) =>
    cite(doc, anchor, target),
  );
}

/** Citations for a list of old sections, or `undefined` when one is not in the map. */
function specCitations(list: string, target: Target, unknown: Set<string>): string | undefined {
  const sections = expandSections(list);
  const anchors = sections.map((s) => SPEC_SECTIONS[s]);
  if (anchors.some((a) => a === undefined)) {
    for (const s of sections) if (SPEC_SECTIONS[s] === undefined) unknown.add(`§${s}`);
    return undefined;
  }
  const cited = [...new Set(anchors as string[])].map((a) => cite("mandrill", a, target));
  return cited.length < 3 ? cited.join(" and ") : `${cited.slice(0, -1).join(", ")} and ${cited.at(-1)}`;
}

/** The rewritten text of one file, and the old citations it could not map. */
export function rewriteText(file: string, text: string): { text: string; unknown: string[] } {
  const unknown = new Set<string>();
  let out = text;

  for (const p of PHRASES)
    out = replaceAll(out, phraseRegExp(p.from), file, (_m, target) => renderPlaceholders(p.to, target));

  if (file.endsWith(".md")) {
    out = replaceAll(out, MD_HEADING_CITATION, file, (m, target) => {
      if (!target.markdown) return undefined;
      const links = specCitations(m[2] ?? "", target, unknown);
      return links === undefined ? undefined : `${m[1]}\n\nMandrill's behaviour: ${links}.`;
    });
  }

  out = replaceAll(out, SPEC_CITATION, file, (m, target) => {
    const links = specCitations(m[4] ?? "", target, unknown);
    if (links === undefined) return undefined;
    const gap = m[3] ?? "";
    // "entries, spec\n * §5": keep the line break, without leaving a space at the end of the line.
    return gap.includes("\n") ? gap.replace(/^[ \t]+/, "") + links : (m[1] ?? "") + links;
  });

  out = replaceAll(out, DESIGN_QUOTED, file, (m, target) => {
    const anchor = DESIGN_SECTIONS[(m[1] ?? "").trim().toLowerCase()];
    if (anchor === undefined) {
      unknown.add(m[0]);
      return undefined;
    }
    return cite("design", anchor, target);
  });

  out = replaceAll(out, BARE, file, (m, target) =>
    cite(m[1] === "DESIGN" ? "design" : "mandrill", "", target),
  );

  return { text: out, unknown: [...unknown] };
}

function main(): void {
  checkMapping();
  const dryRun = process.argv.includes("--dry-run");
  const changed: string[] = [];
  const unknown: string[] = [];
  for (const file of repositoryFiles()) {
    if (!/\.(ts|mts|cts|js|mjs|cjs|md)$/.test(file)) continue;
    if (file === DOC_FILES.mandrill || file === DOC_FILES.design) continue;
    const full = path.join(REPO_ROOT, file);
    const text = readFileSync(full, "utf8");
    if (text.includes("doc-citations: ignore-file")) continue;
    const result = rewriteText(file, text);
    for (const u of result.unknown) unknown.push(`${file}: ${u}`);
    if (result.text === text) continue;
    changed.push(file);
    if (!dryRun) writeFileSync(full, result.text);
  }
  process.stdout.write(
    `${dryRun ? "Would rewrite" : "Rewrote"} ${changed.length} file(s)${changed.length > 0 ? `:\n  ${changed.join("\n  ")}` : "."}\n`,
  );
  if (unknown.length > 0)
    process.stdout.write(`Not in the citation map (left as they were):\n  ${unknown.join("\n  ")}\n`);
  if (dryRun) return;
  const problems = findCitationProblems();
  if (problems.length > 0) {
    process.stdout.write(`\nStill unresolved:\n${formatProblems(problems)}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write("Every documentation citation resolves. Run `pnpm format` for line lengths.\n");
  }
}

if (process.argv[1]?.endsWith("rewrite-doc-citations.ts")) main();
