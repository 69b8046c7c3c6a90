/**
 * The repository's own source files, read and parsed for the guard tests (test/structure.test.ts,
 * test/errors.test.ts). Parsed with oxc-parser (a real TypeScript parser, native and fast, that runs on
 * Node 20; the native TypeScript 7 compiler has no JS API), so comments and strings never count as code.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSync } from "oxc-parser";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
/** Tests, declarations and what a tool wrote are not maintained source. */
const NOT_SOURCE = /(\.test\.[cm]?[jt]s|\.d\.[cm]?ts)$/;
const SKIP_DIRS = new Set(["node_modules", "dist", "coverage", "test", "tests", "__tests__", "fixtures"]);

function walk(dir: string, out: string[]): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith(".")) walk(path, out);
    } else if (SOURCE.test(entry.name) && !NOT_SOURCE.test(entry.name)) {
      out.push(path);
    }
  }
}

function dirsUnder(parent: string, child: string): string[] {
  return readdirSync(join(ROOT, parent), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(ROOT, parent, e.name, child));
}

/** Source files (paths relative to the root, `/`-separated) under `dirs` (absolute). */
export function sourceFiles(dirs: string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) walk(dir, out);
  return out.map((p) => relative(ROOT, p).split("\\").join("/")).sort();
}

/** packages/<name>/src of every package. */
export const packageSources = (): string[] => sourceFiles(dirsUnder("packages", "src"));

/** Everything the size rules cover: packages/∗/src, examples/∗/src, scripts and bench. */
export const maintainedSources = (): string[] =>
  sourceFiles([
    ...dirsUnder("packages", "src"),
    ...dirsUnder("examples", "src"),
    join(ROOT, "scripts"),
    join(ROOT, "bench"),
  ]);

export const readSource = (file: string): string => readFileSync(join(ROOT, file), "utf8");

/** A parsed node (ESTree / TS-ESTree, as oxc-parser gives it): the fields the guards read. */
export interface AstNode {
  type: string;
  /** UTF-16 offsets in the file's text. */
  start: number;
  end: number;
  [key: string]: unknown;
}

/** A parsed file: its program and a way to turn offsets into 1-based line numbers. */
export interface ParsedSource {
  program: AstNode;
  line(offset: number): number;
}

const parsed = new Map<string, ParsedSource>();

/** Parses a file as a module (TypeScript for .ts files); a file read from disk is parsed once. */
export function parseSource(file: string, text?: string): ParsedSource {
  if (text === undefined) {
    let source = parsed.get(file);
    if (source === undefined) {
      source = parseSource(file, readSource(file));
      parsed.set(file, source);
    }
    return source;
  }
  const result = parseSync(file, text, { sourceType: "module", lang: /\.[cm]?ts$/.test(file) ? "ts" : "js" });
  if (result.errors.length > 0) {
    throw new Error(`${file} does not parse: ${result.errors.map((e) => e.message).join("; ")}`);
  }
  const newlines: number[] = [];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) newlines.push(i);
  const line = (offset: number): number => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((newlines[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  return { program: result.program as unknown as AstNode, line };
}

const TYPE_KEYS = new Set([
  "typeAnnotation",
  "typeParameters",
  "typeArguments",
  "returnType",
  "superTypeArguments",
]);
const TYPE_ONLY =
  /^TS(?!AsExpression|SatisfiesExpression|NonNullExpression|TypeAssertion|InstantiationExpression|ParameterProperty|ExportAssignment|EnumDeclaration|EnumBody|EnumMember|ModuleDeclaration|ModuleBlock)/;

/**
 * Calls `visit` for every node under `root` with its parent. With `values: true` it skips types
 * (annotations, interfaces, type aliases, literal types), so a string there is not a value.
 */
export function walkAst(
  root: AstNode,
  visit: (node: AstNode, parent: AstNode | undefined) => void,
  options: { values?: boolean } = {},
): void {
  const stack: [AstNode, AstNode | undefined][] = [[root, undefined]];
  while (stack.length > 0) {
    const [node, parent] = stack.pop() as [AstNode, AstNode | undefined];
    if (options.values === true && TYPE_ONLY.test(node.type)) continue;
    visit(node, parent);
    for (const [key, value] of Object.entries(node)) {
      if (options.values === true && TYPE_KEYS.has(key)) continue;
      const children = Array.isArray(value) ? value : [value];
      for (const child of children) {
        if (child !== null && typeof child === "object" && typeof (child as AstNode).type === "string") {
          stack.push([child as AstNode, node]);
        }
      }
    }
  }
}
