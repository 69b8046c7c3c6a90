import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runFixture } from "../../../test/run-fixture.js";

const script = fileURLToPath(new URL("./fixtures/unclosed-pool.ts", import.meta.url));

describe("parse threads left open", () => {
  it("never keep a process alive: a parse pool that answered its job and was never closed", async () => {
    expect(await runFixture(script)).toEqual({ code: 0, out: { answered: "refusal" } });
  });
});
