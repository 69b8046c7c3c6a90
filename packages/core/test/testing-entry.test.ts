import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const hook = new URL("./fixtures/refuse-vitest.mjs", import.meta.url).href;

/** Imports `specifier` in a fresh Node process where importing vitest throws; resolves with its export names. */
async function importWithoutVitest(specifier: string): Promise<string[]> {
  const register = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(hook)})`;
  const { stdout } = await run(
    process.execPath,
    [
      "--import",
      "tsx",
      "--import",
      register,
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)))`,
    ],
    { cwd: packageDir },
  );
  return JSON.parse(stdout) as string[];
}

describe("subpaths of @mandrill-kit/core", () => {
  it("loads @mandrill-kit/core/testing where vitest cannot be imported (the caller passes its test API)", async () => {
    const names = await importWithoutVitest("@mandrill-kit/core/testing");
    expect(names).toEqual(expect.arrayContaining(["runStoreContract", "suppressionsContract", "eventually"]));
  });

  it("the refusing hook does refuse vitest (so the test above can fail)", async () => {
    await expect(importWithoutVitest("vitest")).rejects.toThrow(/imported vitest at run time/);
  });

  it("keeps adapter helpers out of the main entry and serves them from @mandrill-kit/core/adapter", async () => {
    const main = await import("@mandrill-kit/core");
    const adapter = await import("@mandrill-kit/core/adapter");
    for (const name of ["pageLimit", "decodeCursor", "toSuppression", "mergeSuppression", "escapeLike"]) {
      expect(Object.keys(main), name).not.toContain(name);
      expect(Object.keys(adapter), name).toContain(name);
    }
  });
});
