import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { eventKey, parseMandrillEvents, resolveSuppressionPolicy, suppressionEffects, type InboxEventInput } from "@mandrill-kit/core";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { realisticBatch } from "./lib/events.js";
const dir = mkdtempSync(join(tmpdir(), "exp-"));
const policy = resolveSuppressionPolicy();
const now = Date.now();
function inputs(seed: number, effects: boolean): InboxEventInput[] {
  const p = parseMandrillEvents(realisticBatch(seed)); if (!p.ok) throw 0;
  return p.events.map((e) => ({ key: eventKey(e), type: e.type, email: e.email, messageId: e.messageId, eventAt: e.ts === null ? null : e.ts * 1000, raw: e.rawJson, effects: effects ? suppressionEffects(e, policy, now) : [] }));
}
const mode = process.argv[2] ?? "full";
const store = openSqliteStore({ filename: join(dir, `x.db`) });
if (mode === "nosync") store.database.pragma("synchronous = OFF");
const batches = Array.from({ length: 60 }, (_, i) => inputs(i * 1000, mode !== "noeff"));
const times: number[] = [];
for (const b of batches) { const t = performance.now(); await store.inbox.ingest({ account: "acme", receivedAt: now, events: b }); times.push(performance.now() - t); }
times.sort((a, b) => a - b); console.log(mode, times[30]?.toFixed(2), "ms/batch");
