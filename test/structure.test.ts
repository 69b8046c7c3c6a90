/**
 * Size rules of the repository (issue 14): no maintained source file over 400 lines, no function over
 * 150. Maintained source: packages/∗/src, examples/∗/src, scripts and bench, without tests and
 * declarations (test/source-files.ts). Functions are found by a real parser, so a long string or
 * comment never counts as one, and a method, an arrow function and a function expression all do.
 */
import { describe, expect, it } from "vitest";
import { type AstNode, maintainedSources, parseSource, readSource, walkAst } from "./source-files.js";

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 150;

/** Files the rules do not fail on yet, each with why; the last test says when one can leave. */
const PENDING: Record<string, string> = {};

const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

/** Lines of a text as an editor numbers them (a final newline does not start a line). */
function lineCount(text: string): number {
  if (text === "") return 0;
  const newlines = text.split("\n").length - 1;
  return text.endsWith("\n") ? newlines : newlines + 1;
}

/** Functions of a file longer than `max` lines, named where a name can be found. */
function longFunctions(file: string, max: number, text?: string): string[] {
  const source = parseSource(file, text);
  const found: { first: number; text: string }[] = [];
  walkAst(source.program, (node, parent) => {
    if (!FUNCTIONS.has(node.type) || node.body === null || node.body === undefined) return;
    // A method's function starts at its parameters; count from its name, as a reader does.
    const from = parent?.type === "MethodDefinition" || parent?.type === "Property" ? parent : node;
    const first = source.line(from.start);
    const lines = source.line(node.end) - first + 1;
    if (lines > max)
      found.push({ first, text: `${file}:${first} ${nameOf(node, parent)} has ${lines} lines` });
  });
  return found.sort((a, b) => a.first - b.first).map((f) => f.text);
}

function nameOf(node: AstNode, parent: AstNode | undefined): string {
  const id = (n: unknown) => {
    const x = n as AstNode | null | undefined;
    return x?.type === "Identifier" || x?.type === "PrivateIdentifier" ? String(x.name) : undefined;
  };
  return (
    id(node.id) ??
    (parent?.type === "VariableDeclarator" ? id(parent.id) : undefined) ??
    (parent?.type === "MethodDefinition" ||
    parent?.type === "Property" ||
    parent?.type === "PropertyDefinition"
      ? id(parent.key)
      : undefined) ??
    "(anonymous function)"
  );
}

describe("structure", () => {
  const files = maintainedSources();

  it("covers packages, examples, scripts and bench", () => {
    for (const dir of ["packages/core/src/", "examples/server/src/", "scripts/", "bench/"]) {
      expect(
        files.some((f) => f.startsWith(dir)),
        dir,
      ).toBe(true);
    }
    expect(files.some((f) => f.endsWith(".test.ts"))).toBe(false);
  });

  it("measures what it is meant to measure", () => {
    expect(lineCount("a\nb\n")).toBe(2);
    expect(lineCount("a\nb")).toBe(2);
    const body = Array.from({ length: 150 }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const sample = [
      `function long() {\n${body}\n}`,
      `const arrow = () => {\n${body}\n};`,
      `class K {\n  method() {\n${body}\n  }\n}`,
      `function fits() {\n${body.split("\n").slice(2).join("\n")}\n}`,
      `const text = \`${"\n".repeat(200)}\`;`,
    ].join("\n");
    expect(longFunctions("packages/x/src/sample.ts", MAX_FUNCTION_LINES, sample)).toEqual([
      expect.stringMatching(/ long has 152 lines$/),
      expect.stringMatching(/ arrow has 152 lines$/),
      expect.stringMatching(/ method has 152 lines$/),
    ]);
  });

  const checked = files.filter((file) => PENDING[file] === undefined);

  it(`no source file has more than ${MAX_FILE_LINES} lines`, () => {
    const long = checked
      .map((file) => ({ file, lines: lineCount(readSource(file)) }))
      .filter((f) => f.lines > MAX_FILE_LINES)
      .map((f) => `${f.file} has ${f.lines} lines`);
    expect(long, "split the file by responsibility").toEqual([]);
  });

  it(`no function has more than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = checked.flatMap((file) => longFunctions(file, MAX_FUNCTION_LINES));
    expect(long, "split the function into named steps").toEqual([]);
  });

  it("lists only files that still break a rule as pending", () => {
    const fixed = Object.keys(PENDING).filter(
      (file) =>
        files.includes(file) &&
        lineCount(readSource(file)) <= MAX_FILE_LINES &&
        longFunctions(file, MAX_FUNCTION_LINES).length === 0,
    );
    const gone = Object.keys(PENDING).filter((file) => !files.includes(file));
    expect([...fixed, ...gone], "these files meet the rules (or are gone): remove them from PENDING").toEqual(
      [],
    );
  });
});
