/**
 * Webhook ingest over HTTP (issue 4): signed 1,000-event batches posted over loopback, by a client in
 * its own process (as Mandrill would be), to an Express app with mandrillKit() + mandrillWebhooks() on
 * a SQLite file, against a bare node:http handler that only form-decodes and JSON.parses the same kind
 * of bodies, measured alternately in the same run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { mandrillWebhooks } from "@mandrill-kit/webhooks";
import express from "express";
import type { Table } from "./lib/report.js";
import { ask, startPostClient } from "./lib/server-process.js";
import { fmt, sampleRow, summarize } from "./lib/stats.js";

const WEBHOOK_KEY = "whk-bench-0123456789abcdef";

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

interface ClientRun {
  ms: number;
  perBatch: number[];
  bytes: number;
}

export async function runWebhookBenches(): Promise<Table[]> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-hooks-"));
  const batchesPerRun = 10;
  const runs = 7;
  const warmup = 2;
  try {
    const store = openSqliteStore({ filename: join(dir, "hooks.db") });
    const kit = mandrillKit({
      store,
      keys: addKey(undefined, "bench"),
      publicUrl: "https://hooks.example.com",
    });
    await kit.credentials.save("acme", {
      username: "ops@acme.example",
      apiKey: "md-bench-0123456789abcdef",
      fromEmail: "hello@acme.example",
      webhookKey: WEBHOOK_KEY,
    });
    const url = kit.credentials.callbackUrl("acme");
    const app = express();
    app.use(kit);
    const hooks = mandrillWebhooks({ pollIntervalMs: 100 });
    // Like a host would: handlers for what changes deliverability; the dispatcher completes the rest.
    let handled = 0;
    hooks.on(["hard_bounce", "soft_bounce", "spam", "unsub", "reject"], () => {
      handled++;
    });
    app.use(hooks);
    hooks.start(kit.context);
    const kitServer = createServer(app);
    const kitPort = await listen(kitServer);

    const bare = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const events =
          new URLSearchParams(Buffer.concat(chunks).toString("utf8")).get("mandrill_events") ?? "[]";
        JSON.parse(events);
        res.writeHead(200).end("OK");
      });
    });
    const barePort = await listen(bare);

    const client = await startPostClient();
    const post = (port: number, path: string, seed: number) =>
      ask<ClientRun>(client, { run: { port, path, batches: batchesPerRun, seed, key: WEBHOOK_KEY, url } });

    let seed = 0;
    const kitMs: number[] = [];
    const bareMs: number[] = [];
    const perBatch: number[] = [];
    let bodyBytes = 0;
    for (let run = 0; run < warmup + runs; run++) {
      seed += batchesPerRun * 1000;
      // Kit and baseline take turns, in alternating order.
      const kitFirst = run % 2 === 0;
      const first = kitFirst
        ? await post(kitPort, "/webhooks/mandrill/acme", seed)
        : await post(barePort, "/", seed);
      const second = kitFirst
        ? await post(barePort, "/", seed)
        : await post(kitPort, "/webhooks/mandrill/acme", seed);
      const k = kitFirst ? first : second;
      const b = kitFirst ? second : first;
      bodyBytes = k.bytes;
      if (run >= warmup) {
        kitMs.push(k.ms);
        bareMs.push(b.ms);
        perBatch.push(...k.perBatch);
      }
    }
    await hooks.runDue();
    const stats = await store.inbox.stats("acme");
    client.send({ exit: true });
    await hooks.close();
    await new Promise((r) => kitServer.close(r));
    await new Promise((r) => bare.close(r));
    await store.close();

    const rate = (ms: number) => (batchesPerRun * 1000) / (ms / 1000);
    const k = summarize(kitMs.map(rate));
    const b = summarize(bareMs.map(rate));
    const lat = summarize(perBatch);
    return [
      {
        title: "Webhook ingest over HTTP — signed 1,000-event batches into SQLite",
        description: `Each run posts ${batchesPerRun} signed batches (1,000 realistic events, ${(bodyBytes / 1e6).toFixed(2)} MB form-encoded each) one after another over a keep-alive loopback connection, from a client in its own process, to an Express 5 app with \`mandrillKit()\` + \`mandrillWebhooks()\` on a SQLite file (verify, parse, dedupe, suppress, commit with fsync, then answer), with handlers registered for the deliverability events (they run in the same process meanwhile). Baseline: a bare \`node:http\` handler that reads the body, \`URLSearchParams\`-decodes it and \`JSON.parse\`s \`mandrill_events\` — no verification, no storage. Same bodies, same client, alternating runs; ${runs} runs after ${warmup} warm-ups.`,
        headers: ["", "median events/s", "min", "max", "spread", "ratio vs baseline"],
        rows: [
          sampleRow("kit: mandrillWebhooks() → SQLite", k, b, 0),
          sampleRow("baseline: bare node:http decode + JSON.parse", b, b, 0),
        ],
        notes: [
          `Targets ≥ 30,000 events/s — ${k.median >= 30_000 ? "met" : "NOT met"} (${fmt(k.median, 0)}); ≥ 0.4× baseline — ${k.median / b.median >= 0.4 ? "met" : "NOT met"} (${fmt(k.median / b.median, 2)}×).`,
          `Per batch (kit, as the client saw it): p50 ${fmt(lat.median, 1)} ms, p99 ${fmt(lat.p99, 1)} ms over ${lat.runs} batches; ${stats.total.toLocaleString("en-US")} events stored; handlers for bounces, spam, unsub and reject ran ${handled.toLocaleString("en-US")} times meanwhile (same process, same database).`,
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
