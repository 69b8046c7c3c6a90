/**
 * Webhook ingest over HTTP (issue 4): signed 1,000-event batches posted over loopback to an Express
 * app with mandrillKit() + mandrillWebhooks() on a SQLite file, against a bare node:http handler that
 * only form-decodes and JSON.parses the same bodies, measured alternately in the same run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import { mandrillWebhooks } from "@mandrill-kit/webhooks";
import { signWebhook } from "@mandrill-kit/webhooks/testing";
import express from "express";
import { realisticBatch } from "./lib/events.js";
import type { Table } from "./lib/report.js";
import { fmt, sampleRow, summarize } from "./lib/stats.js";

const WEBHOOK_KEY = "whk-bench-0123456789abcdef";

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function post(
  agent: Agent,
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent,
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
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
    // Like a host would: handlers for what changes deliverability; the rest is stored, not queued.
    let handled = 0;
    hooks.on(["hard_bounce", "soft_bounce", "spam", "unsub", "reject"], () => {
      handled++;
    });
    app.use(hooks);
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
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });

    let seed = 0;
    const makeRun = () =>
      Array.from({ length: batchesPerRun }, () => {
        seed += 1000;
        return signWebhook({ key: WEBHOOK_KEY, url, events: realisticBatch(seed, 1000) });
      });
    const kitMs: number[] = [];
    const bareMs: number[] = [];
    const perBatch: number[] = [];
    let bodyBytes = 0;
    for (let run = 0; run < warmup + runs; run++) {
      const batches = makeRun();
      bodyBytes = Buffer.byteLength(batches[0]?.body ?? "");
      const timeKit = async () => {
        const start = performance.now();
        for (const b of batches) {
          const t = performance.now();
          const status = await post(agent, kitPort, "/webhooks/mandrill/acme", b.body, b.headers);
          if (status !== 200) throw new Error(`kit answered ${status}`);
          if (run >= warmup) perBatch.push(performance.now() - t);
        }
        return performance.now() - start;
      };
      const timeBare = async () => {
        const start = performance.now();
        for (const b of batches) await post(agent, barePort, "/", b.body, b.headers);
        return performance.now() - start;
      };
      let k: number;
      let b: number;
      if (run % 2 === 0) {
        k = await timeKit();
        b = await timeBare();
      } else {
        b = await timeBare();
        k = await timeKit();
      }
      if (run >= warmup) {
        kitMs.push(k);
        bareMs.push(b);
      }
    }
    await hooks.runDue();
    const stats = await store.inbox.stats("acme");
    agent.destroy();
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
        description: `Each run posts ${batchesPerRun} signed batches (1,000 realistic events, ${(bodyBytes / 1e6).toFixed(2)} MB form-encoded each) one after another over a keep-alive loopback connection to an Express 5 app with \`mandrillKit()\` + \`mandrillWebhooks()\` on a SQLite file (verify, parse, dedupe, suppress, commit with fsync, then answer), with handlers registered for the deliverability events (they run in the same process meanwhile). Baseline: a bare \`node:http\` handler that reads the body, \`URLSearchParams\`-decodes it and \`JSON.parse\`s \`mandrill_events\` — no verification, no storage. Same bodies, same client, alternating runs; ${runs} runs after ${warmup} warm-ups.`,
        headers: ["", "median events/s", "min", "max", "spread", "ratio vs baseline"],
        rows: [
          sampleRow("kit: mandrillWebhooks() → SQLite", k, b, 0),
          sampleRow("baseline: bare node:http decode + JSON.parse", b, b, 0),
        ],
        notes: [
          `Targets ≥ 30,000 events/s — ${k.median >= 30_000 ? "met" : "NOT met"} (${fmt(k.median, 0)}); ≥ 0.4× baseline — ${k.median / b.median >= 0.4 ? "met" : "NOT met"} (${fmt(k.median / b.median, 2)}×).`,
          `Per batch (kit): p50 ${fmt(lat.median, 1)} ms, p99 ${fmt(lat.p99, 1)} ms over ${lat.runs} batches; ${stats.total.toLocaleString("en-US")} events stored; handlers registered for bounces, spam, unsub and reject ran ${handled.toLocaleString("en-US")} times meanwhile (the dispatcher shares the process and the database).`,
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
