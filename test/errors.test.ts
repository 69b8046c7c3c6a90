/**
 * Every error the kit throws is a MandrillKitError with a code from core's table, and every code in
 * the table is used (docs/errors.md lists no code nothing throws). Scans packages/∗/src with a parser.
 */
import { ERROR_CODES } from "@mandrill-kit/core";
import { describe, expect, it } from "vitest";
import { type AstNode, packageSources, parseSource, walkAst } from "./source-files.js";

const BUILTIN_ERRORS = new Set([
  "Error",
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "EvalError",
  "URIError",
  "AggregateError",
]);

/**
 * Places that build an error of another class on purpose, by file, with how many and why. Each is
 * handed to a library or kept as a `cause`; none reaches a caller as the error thrown.
 */
const ALLOWED: Record<string, { count: number; why: string }> = {
  "packages/sender/src/network-guard.ts": {
    count: 1,
    why: "ConnectError is the Node-style socket error (code ECONNREFUSED, ETIMEDOUT…) the guard hands to nodemailer and undici, which read its `code`; the transports turn what comes back into MandrillKitTransportError",
  },
  "packages/sender/src/transports/smtp-errors.ts": {
    count: 1,
    why: "the sanitised `cause` of SmtpTransportError (code, command and reply code only, never the peer's text)",
  },
  "packages/credentials/src/jwe.ts": {
    count: 1,
    why: "the `cause` of a decryption failure, reduced to node-jose's message",
  },
};

const LITERALS = new Set(["Literal", "TemplateLiteral", "ObjectExpression", "ArrayExpression"]);

interface Finding {
  file: string;
  line: number;
  what: string;
}

function nameOf(node: unknown): string | undefined {
  const n = node as AstNode | null | undefined;
  return n?.type === "Identifier" ? (n.name as string) : undefined;
}

/** Built-in errors created, classes extending one, and literals thrown, in one file. */
function nonKitErrors(file: string, text?: string): Finding[] {
  const found: Finding[] = [];
  const source = parseSource(file, text);
  const at = (node: AstNode, what: string) => found.push({ file, line: source.line(node.start), what });
  walkAst(source.program, (node) => {
    if (node.type === "NewExpression" || node.type === "CallExpression") {
      const callee = nameOf(node.callee);
      if (callee !== undefined && BUILTIN_ERRORS.has(callee)) at(node, `new ${callee}(…)`);
    } else if (node.type === "ClassDeclaration" || node.type === "ClassExpression") {
      const base = nameOf(node.superClass);
      const name = nameOf(node.id);
      const isTheBase = file === "packages/core/src/errors.ts" && name === "MandrillKitError";
      if (base !== undefined && BUILTIN_ERRORS.has(base) && !isTheBase) {
        at(node, `class ${name ?? "(anonymous)"} extends ${base}`);
      }
    } else if (node.type === "ThrowStatement") {
      const argument = node.argument as AstNode;
      if (LITERALS.has(argument.type)) at(node, `throw of a ${argument.type}`);
    }
  });
  return found.sort((a, b) => a.line - b.line);
}

/** The string literals of a file that are values (not types), e.g. codes passed to constructors. */
function valueStrings(file: string): Set<string> {
  const strings = new Set<string>();
  walkAst(
    parseSource(file).program,
    (node) => {
      if (node.type === "Literal" && typeof node.value === "string") strings.add(node.value);
    },
    { values: true },
  );
  return strings;
}

describe("errors", () => {
  const files = packageSources();

  it("scans the packages' sources", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain("packages/core/src/errors.ts");
  });

  it("the scan finds what it is meant to find", () => {
    const sample = [
      'throw new Error("x");',
      "const e = RangeError('y');",
      "class Oops extends TypeError {}",
      'throw "text";',
      "throw { code: 1 };",
      'throw new MandrillKitError("ERR_MK_INTERNAL", "fine");',
      "// throw new Error('in a comment')",
      "const s = 'new Error(1)';",
    ].join("\n");
    expect(nonKitErrors("packages/x/src/sample.ts", sample).map((f) => f.what)).toEqual([
      "new Error(…)",
      "new RangeError(…)",
      "class Oops extends TypeError",
      "throw of a Literal",
      "throw of a ObjectExpression",
    ]);
  });

  it("every error the kit creates or throws is a MandrillKitError (the few exceptions are listed, with why)", () => {
    const found = files.flatMap((file) => nonKitErrors(file));
    const unexpected = found.filter((f) => ALLOWED[f.file] === undefined);
    expect(
      unexpected.map((f) => `${f.file}:${f.line} ${f.what}`),
      "use MandrillKitError (or a subclass) with a code from packages/core/src/error-codes.ts",
    ).toEqual([]);
    for (const [file, allowed] of Object.entries(ALLOWED)) {
      const inFile = found.filter((f) => f.file === file);
      expect(
        inFile.map((f) => `${f.file}:${f.line} ${f.what}`),
        `${file}: ${allowed.why}`,
      ).toHaveLength(allowed.count);
    }
  });

  it("every code in the table is used by the packages' sources", () => {
    const used = new Set<string>();
    for (const file of files) {
      if (file === "packages/core/src/error-codes.ts") continue;
      for (const s of valueStrings(file)) if (s.startsWith("ERR_MK_")) used.add(s);
    }
    const codes = Object.keys(ERROR_CODES);
    expect(
      codes.filter((code) => !used.has(code)),
      "remove unused codes from error-codes.ts, then run pnpm docs:errors",
    ).toEqual([]);
    // And nothing uses a code the table does not have.
    expect([...used].filter((code) => !(code in ERROR_CODES))).toEqual([]);
  });
});
