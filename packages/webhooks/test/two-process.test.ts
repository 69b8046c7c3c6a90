/**
 * The README's deployment: process A receives webhooks (router, no handlers, no start()) and process
 * B only dispatches (`createDispatcher` with `on("hard_bounce")`). Every event A acknowledged must
 * reach B's handler — A must not complete the events it has no handler for.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { eventually } from "@mandrill-kit/core/testing";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { available, databaseUrl, dropSchema, freshSchema } from "../../postgres/test/database.js";
import { openStore, type StoreSpec } from "./fixtures/open-store.js";

const KEY = "whk-two-process-0123456789";
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mk-webhooks-two-process-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

interface Running {
  lines: Record<string, unknown>[];
  child: ChildProcess;
}

/** Starts a fixture process; resolves once it printed a line with `readyKey`. */
function run(script: string, spec: StoreSpec, readyKey: string): Promise<Running> {
  const child = spawn(process.execPath, ["--import", "tsx", fixture(script), JSON.stringify(spec)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const parts = out.split("\n");
      out = parts.pop() ?? "";
      for (const part of parts.filter((p) => p.startsWith("{"))) {
        const line = JSON.parse(part) as Record<string, unknown>;
        lines.push(line);
        if (readyKey in line) resolve({ lines, child });
      }
    });
    child.on("exit", (code) => reject(new Error(`${script} exited early (${code}): ${err}`)));
  });
}

async function scenario(spec: StoreSpec): Promise<void> {
  const receiver = await run("receiver-process.ts", spec, "port");
  const worker = await run("dispatcher-process.ts", spec, "ready");
  const port = receiver.lines[0]?.port as number;
  const acknowledged: string[] = [];
  const all: string[] = [];
  for (let batch = 0; batch < 5; batch++) {
    const events = [
      eventFixtures.hard_bounce({ email: `hb${batch}a@example.net`, id: `hb${batch}a`, ts: 1_760_000_000 }),
      eventFixtures.hard_bounce({ email: `hb${batch}b@example.net`, id: `hb${batch}b`, ts: 1_760_000_000 }),
      ...Array.from({ length: 10 }, (_, i) =>
        eventFixtures.send({ email: `r${batch}-${i}@example.com`, id: `s${batch}-${i}`, ts: 1_760_000_000 }),
      ),
    ];
    const signed = signWebhook({ key: KEY, url: "https://hooks.example.com/webhooks/mandrill/acme", events });
    const response = await fetch(`http://127.0.0.1:${port}/webhooks/mandrill/acme`, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
    });
    expect(response.status).toBe(200);
    const parsed = parseMandrillEvents(signed.mandrillEvents);
    if (!parsed.ok) throw new Error("fixture did not parse");
    for (const event of parsed.events) {
      all.push(eventKey(event));
      if (event.type === "hard_bounce") acknowledged.push(eventKey(event));
    }
  }

  const handled = () => worker.lines.flatMap((l) => (typeof l.handled === "string" ? [l.handled] : []));
  await eventually(() => acknowledged.every((k) => handled().includes(k)), {
    timeoutMs: 20_000,
    what: "process B to handle every hard_bounce process A acknowledged",
  });
  expect(handled().sort()).toEqual([...acknowledged].sort());

  // The sends no one handles were completed by B, not skipped by A.
  const store = await openStore(spec);
  try {
    await eventually(async () => (await store.inbox.stats("acme")).done === all.length, {
      timeoutMs: 20_000,
    });
    expect(await store.inbox.stats("acme")).toMatchObject({ total: all.length, pending: 0, dead: 0 });
  } finally {
    await store.close();
  }
}

describe("a router process without handlers and a dispatcher process on one store", () => {
  it("runs B's handler for every event A acknowledged (SQLite file)", async () => {
    await scenario({ kind: "sqlite", filename: join(dir, "shared.db") });
  }, 60_000);

  it.skipIf(!available)(
    "runs B's handler for every event A acknowledged (PostgreSQL)",
    async () => {
      const schema = freshSchema("two_process");
      try {
        await scenario({ kind: "postgres", connectionString: databaseUrl, schema });
      } finally {
        await dropSchema(schema);
      }
    },
    60_000,
  );
});
