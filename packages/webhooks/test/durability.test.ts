import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventKey, parseMandrillEvents } from "@mandrill-kit/core/plugin";
import { addKey } from "@mandrill-kit/credentials";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { eventFixtures, signWebhook } from "@mandrill-kit/webhooks/testing";
import { afterAll, describe, expect, it } from "vitest";

const server = fileURLToPath(new URL("./fixtures/durable-server.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mk-webhooks-durable-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(filename: string, keys: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", server, filename, keys], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) resolve({ child, port: (JSON.parse(line) as { port: number }).port });
    });
    child.on("exit", (code) => reject(new Error(`server exited early (${code}): ${err}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("durability across kill -9", () => {
  it("keeps every acknowledged event and its suppression when the server is killed right after answering", async () => {
    const filename = join(dir, "hooks.db");
    const keys = JSON.stringify(addKey(undefined, "durable"));
    const acknowledged: { keys: string[]; bounced: string }[] = [];
    for (let round = 0; round < 4; round++) {
      const { child, port } = await start(filename, keys);
      const bounced = `bounce${round}@example.net`;
      const events = [
        eventFixtures.hard_bounce({ email: bounced, id: `hb${round}`, ts: 1_760_000_000 + round }),
        ...Array.from({ length: 200 }, (_, i) =>
          eventFixtures.send({
            email: `r${round}-${i}@example.com`,
            id: `s${round}-${i}`,
            ts: 1_760_000_000 + round,
          }),
        ),
      ];
      const signed = signWebhook({
        key: "whk-durability-abcdefghijklmnop",
        url: "https://hooks.example.com/webhooks/mandrill/acme",
        events,
      });
      const response = await fetch(`http://127.0.0.1:${port}/webhooks/mandrill/acme`, {
        method: "POST",
        headers: signed.headers,
        body: signed.body,
      });
      expect(response.status).toBe(200);
      // The acknowledgement is in: kill at once, before the process can do anything more.
      await killed(child);
      const parsed = parseMandrillEvents(signed.mandrillEvents);
      if (!parsed.ok) throw new Error("fixture did not parse");
      acknowledged.push({ keys: parsed.events.map(eventKey), bounced });
    }

    const store = openSqliteStore({ filename });
    try {
      expect(store.integrityCheck()).toBe("ok");
      for (const batch of acknowledged) {
        for (const key of batch.keys) expect(await store.inbox.get("acme", key), key).toBeDefined();
        expect(await store.suppressions.check("acme", [batch.bounced])).toHaveLength(1);
      }
      expect((await store.inbox.stats("acme")).total).toBe(acknowledged.length * 201);
    } finally {
      await store.close();
    }
  }, 120_000);
});
