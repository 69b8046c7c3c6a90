import { readFileSync } from "node:fs";
import { ERROR_CODES, type ErrorCode, MandrillKitError } from "@mandrill-kit/core";
import { describe, expect, it } from "vitest";

const DOC = new URL("../../../docs/errors.md", import.meta.url);

function readDoc(): string {
  return readFileSync(DOC, "utf8");
}

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** Codes the doc documents: in a heading, or in the first cell of a table row. */
function documentedCodes(doc: string): Set<string> {
  const found = new Set<string>();
  for (const line of doc.split("\n")) {
    const heading = /^#{1,6}\s+`?(ERR_MK_[A-Z0-9_]+)`?\s*$/.exec(line.trim());
    if (heading?.[1] !== undefined) found.add(heading[1]);
    const row = /^\|\s*`?(ERR_MK_[A-Z0-9_]+)`?\s*\|/.exec(line.trim());
    if (row?.[1] !== undefined) found.add(row[1]);
  }
  return found;
}

/** Every error code mentioned anywhere in the doc (patterns such as `ERR_MK_<AREA>_<REASON>` excluded). */
function mentionedCodes(doc: string): Set<string> {
  return new Set(doc.match(/\bERR_MK_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_*<>])/g) ?? []);
}

describe("docs/errors.md", () => {
  it("documents every error code in a heading or a table row", () => {
    const documented = documentedCodes(readDoc());
    const missing = CODES.filter((code) => !documented.has(code));
    expect(missing).toEqual([]);
  });

  it("mentions no error code that the kit does not have", () => {
    const unknown = [...mentionedCodes(readDoc())].filter((code) => !(code in ERROR_CODES));
    expect(unknown).toEqual([]);
  });

  it("gives the same advice as error.advice for every code", () => {
    const doc = readDoc().replace(/\s+/g, " ");
    const missing = CODES.filter((code) => !doc.includes(ERROR_CODES[code].advice.replace(/\s+/g, " ")));
    expect(missing).toEqual([]);
  });
});

describe("ERROR_CODES", () => {
  it("names every code ERR_MK_<AREA>_<REASON>", () => {
    for (const code of CODES) expect(code).toMatch(/^ERR_MK_[A-Z0-9]+(?:_[A-Z0-9]+)*$/);
  });

  it("gives every code a summary and advice", () => {
    for (const code of CODES) {
      expect(ERROR_CODES[code].summary.trim()).not.toBe("");
      expect(ERROR_CODES[code].advice.trim()).not.toBe("");
    }
  });

  it("exposes the advice of a code on errors that carry it", () => {
    for (const code of CODES) expect(new MandrillKitError(code, "x").advice).toBe(ERROR_CODES[code].advice);
  });
});
