/**
 * Checks that every documentation citation in the repository points at something that exists
 * (`pnpm docs:check-citations`; exits 1 and lists each problem otherwise):
 *
 * - `docs/mandrill.md#anchor`, `packages/x/README.md`, `BENCHMARKS.md`… in any source, test or Markdown
 *   file: the file must be in the repository and, with `#anchor`, have a heading with that GitHub
 *   anchor;
 * - Markdown links `[text](path#anchor)` and `[text](#anchor)`: the same, relative to the file;
 * - a section sign followed by a number (the numbering of the team's old Mandrill notes, which are not
 *   in the repository): always a problem — `pnpm docs:rewrite-citations` turns them into anchors.
 *
 * External paths (`guides/source/x.md` of another project) are ignored: a path is checked when it is
 * relative (`./`, `../`), bare (`X.md`), or starts with a top-level entry of this repository.
 * A file containing the marker `doc-citations: ignore-file` is skipped (these scripts, whose patterns
 * would match themselves).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** One citation that does not resolve. */
export interface CitationProblem {
  file: string;
  line: number;
  citation: string;
  problem: string;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const IGNORE_MARKER = "doc-citations: ignore-file";
const SCANNED = /\.(ts|mts|cts|js|mjs|cjs|md)$/;

/** Files git knows (tracked, or new and not ignored), relative to `root`, with `/` separators. */
export function repositoryFiles(root: string = REPO_ROOT): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return [...new Set(out.split("\0").filter((f) => f !== ""))].sort();
}

/**
 * The anchor GitHub gives a heading: inline markup reduced to its text, lower-cased, punctuation
 * removed (letters, digits, `_`, `-` and spaces stay), spaces turned into `-`.
 */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/`/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** For each line of a Markdown text: whether it is inside (or delimits) a fenced code block. */
export function fencedLines(lines: readonly string[]): boolean[] {
  const fenced: boolean[] = [];
  let fence: string | undefined;
  for (const line of lines) {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === undefined) {
      if (m?.[1] !== undefined) {
        fence = m[1];
        fenced.push(true);
      } else fenced.push(false);
    } else {
      if (m?.[1] !== undefined && m[1][0] === fence[0] && m[1].length >= fence.length) fence = undefined;
      fenced.push(true);
    }
  }
  return fenced;
}

/** The headings of a Markdown text, in order: their title (as written) and GitHub anchor. */
export function markdownHeadings(markdown: string): { title: string; anchor: string }[] {
  const lines = markdown.split("\n");
  const fenced = fencedLines(lines);
  const seen = new Map<string, number>();
  const out: { title: string; anchor: string }[] = [];
  lines.forEach((line, i) => {
    if (fenced[i]) return;
    const m = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (m?.[1] === undefined) return;
    const base = githubSlug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.push({ title: m[1].trim(), anchor: n === 0 ? base : `${base}-${n}` });
  });
  return out;
}

/** Every anchor a Markdown text defines: its headings' and explicit `<a id|name="…">` ones. */
export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set(markdownHeadings(markdown).map((h) => h.anchor));
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) if (m[1] !== undefined) anchors.add(m[1]);
  return anchors;
}

/** Looks up files and their anchors; paths are repository-relative with `/`. */
export class Repository {
  readonly files: Set<string>;
  readonly dirs = new Set<string>([""]);
  readonly topLevel = new Set<string>();
  readonly #anchors = new Map<string, Set<string>>();

  constructor(
    readonly root: string,
    files: readonly string[],
  ) {
    this.files = new Set(files);
    for (const f of files) {
      const parts = f.split("/");
      this.topLevel.add(parts[0] ?? f);
      for (let i = 1; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join("/"));
    }
  }

  exists(p: string): boolean {
    return this.files.has(p) || this.dirs.has(p);
  }

  anchors(file: string): Set<string> {
    let set = this.#anchors.get(file);
    if (set === undefined) {
      set = markdownAnchors(readFileSync(path.join(this.root, file), "utf8"));
      this.#anchors.set(file, set);
    }
    return set;
  }
}

/** Joins and normalises a repository-relative path; `undefined` when it leaves the repository. */
function join(dir: string, target: string): string | undefined {
  const joined = path.posix.normalize(path.posix.join(dir, target)).replace(/\/$/, "");
  if (joined === ".") return "";
  return joined.startsWith("../") || joined === ".." ? undefined : joined;
}

function checkAnchor(repo: Repository, file: string, anchor: string | undefined): string | undefined {
  if (anchor === undefined || anchor === "" || !file.endsWith(".md")) return undefined;
  if (repo.anchors(file).has(anchor)) return undefined;
  const known = [...repo.anchors(file)];
  const close = known.find((a) => a.includes(anchor) || anchor.includes(a));
  return `${file} has no heading with the anchor #${anchor}${close === undefined ? "" : ` (did you mean #${close}?)`}`;
}

const SECTION_SIGN = /§\s?\d+(?:\.\d+)*/g;
// This repository on GitHub, as package READMEs (published to npm) link to it.
const OWN_REPOSITORY_URL = /^https:\/\/github\.com\/mandrill-kit\/mandrill-kit\/(?:blob|tree)\/main\//;
// A Markdown link or image: [text](target "title").
const MD_LINK = /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g;
// A path naming a Markdown file, optionally with an anchor; not when it is part of a URL or longer path.
const MD_PATH = /(?<![\w/.:@%~-])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[\w.-]+\.md)(?:#([\p{L}\p{N}_-]+))?(?![\w/])/gu;

/** Problems of one file's citations. */
export function checkFile(repo: Repository, file: string, text: string): CitationProblem[] {
  const problems: CitationProblem[] = [];
  const dir = path.posix.dirname(file) === "." ? "" : path.posix.dirname(file);
  const isMarkdown = file.endsWith(".md");
  const lines = text.split("\n");
  const fenced = isMarkdown ? fencedLines(lines) : lines.map(() => false);
  const report = (line: number, citation: string, problem: string) =>
    problems.push({ file, line: line + 1, citation, problem });

  lines.forEach((raw, i) => {
    for (const m of raw.matchAll(SECTION_SIGN))
      report(
        i,
        m[0],
        "a section number of the old Mandrill notes (not in the repository): cite a docs/mandrill.md heading",
      );

    let line = raw;
    if (isMarkdown && !fenced[i]) {
      for (const m of raw.matchAll(MD_LINK)) {
        // Published READMEs link into this repository with absolute GitHub URLs: check those as paths.
        const target = (m[1] ?? "").replace(OWN_REPOSITORY_URL, "/");
        if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
        const hash = target.indexOf("#");
        const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
        const anchor = hash === -1 ? undefined : target.slice(hash + 1);
        const resolved =
          pathPart === ""
            ? file
            : pathPart.startsWith("/")
              ? join("", pathPart.slice(1))
              : join(dir, pathPart);
        if (resolved === undefined || !repo.exists(resolved)) {
          report(i, target, `links to ${resolved ?? pathPart}, which is not in the repository`);
          continue;
        }
        const problem = checkAnchor(repo, resolved, anchor);
        if (problem !== undefined) report(i, target, problem);
      }
      // Link targets are checked above; leave only the prose for the plain-path scan.
      line = raw.replace(MD_LINK, (whole) => whole.replace(/\]\([^)]*\)$/, "]()"));
    }

    for (const m of line.matchAll(MD_PATH)) {
      const cited = m[1] ?? "";
      const anchor = m[2];
      const citation = m[0];
      let resolved: string | undefined;
      if (cited.startsWith("./") || cited.startsWith("../")) {
        resolved = join(dir, cited);
        if (resolved === undefined || !repo.exists(resolved)) {
          report(i, citation, `names ${cited}, which is not in the repository`);
          continue;
        }
      } else if (!cited.includes("/")) {
        resolved = [join(dir, cited), cited, `docs/${cited}`].find(
          (p): p is string => p !== undefined && repo.files.has(p),
        );
        if (resolved === undefined) {
          report(i, citation, `names ${cited}, which is not in the repository`);
          continue;
        }
      } else {
        resolved = [cited, join(dir, cited)].find((p): p is string => p !== undefined && repo.exists(p));
        if (resolved === undefined) {
          // Another project's path (e.g. a source cited in docs/mandrill.md): not ours to check.
          if (!repo.topLevel.has(cited.split("/")[0] ?? "")) continue;
          report(i, citation, `names ${cited}, which is not in the repository`);
          continue;
        }
      }
      const problem = checkAnchor(repo, resolved, anchor);
      if (problem !== undefined) report(i, citation, problem);
    }
  });
  return problems;
}

/** Every citation problem in the repository at `root` (all of its source, test and Markdown files). */
export function findCitationProblems(root: string = REPO_ROOT): CitationProblem[] {
  const files = repositoryFiles(root);
  const repo = new Repository(root, files);
  const problems: CitationProblem[] = [];
  for (const file of files) {
    if (!SCANNED.test(file)) continue;
    const text = readFileSync(path.join(root, file), "utf8");
    if (text.includes(IGNORE_MARKER)) continue;
    problems.push(...checkFile(repo, file, text));
  }
  return problems;
}

/** One line per problem, `file:line: citation — problem`. */
export function formatProblems(problems: readonly CitationProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.citation} — ${p.problem}`).join("\n");
}

if (process.argv[1]?.endsWith("check-doc-citations.ts")) {
  const problems = findCitationProblems();
  if (problems.length === 0) {
    process.stdout.write("Every documentation citation resolves.\n");
  } else {
    process.stdout.write(`${formatProblems(problems)}\n\n${problems.length} citation(s) do not resolve.\n`);
    process.exitCode = 1;
  }
}
