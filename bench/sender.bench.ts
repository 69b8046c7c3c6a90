/**
 * Sender benchmarks (issue 6), all against one simulator in its own process, in the same run:
 * API sends through the kit vs the official @mailchimp/mailchimp_transactional client vs raw undici
 * posts of the same bodies; SMTP sends through the kit vs bare pooled nodemailer.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { addKey, mandrillKit } from "@mandrill-kit/credentials";
import { createSender, type SendMessage } from "@mandrill-kit/sender";
import { openSqliteStore } from "@mandrill-kit/sqlite";
import nodemailer from "nodemailer";
import { Pool } from "undici";
import { resolveRecipients, toMandrillMessage } from "../packages/sender/src/message.js";
import type { Table } from "./lib/report.js";
import { fmt, sampleRow, summarize } from "./lib/stats.js";

const API_KEY = "bench-key-0123456789abcdefgh";

interface OfficialClient {
  basePath: string;
  messages: { send(body: Record<string, unknown>): Promise<unknown> };
}

export async function startSim(): Promise<{
  apiUrl: string;
  smtp: { host: string; port: number; ca: string };
  stop(): void;
}> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./lib/sim-process.ts", import.meta.url))],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl !== -1) resolve(out.slice(0, nl));
    });
    child.on("exit", (code) => reject(new Error(`simulator exited (${code})`)));
  });
  const info = JSON.parse(line) as { apiUrl: string; smtp: { host: string; port: number; ca: string } };
  return { ...info, stop: () => child.kill("SIGTERM") };
}

/** Runs `total` operations with `concurrency` in flight; returns operations per second. */
async function throughput(
  total: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await op(i);
    }),
  );
  return total / ((performance.now() - start) / 1000);
}

type Name = "kitApi" | "official" | "raw" | "kitSmtp" | "bareSmtp";

/** The sender table: each shape's medians against the row they are compared with, and the targets. */
function senderTable(
  shapes: { label: string }[],
  results: Record<string, Record<Name, number[]>>,
  recorded: number,
  setup: { maxConnections: number; runs: number; warmup: number },
): Table {
  const { maxConnections, runs, warmup } = setup;
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const shape of shapes) {
    const r = results[shape.label] as Record<Name, number[]>;
    const s = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, summarize(v)])) as Record<
      Name,
      ReturnType<typeof summarize>
    >;
    rows.push(sampleRow(`kit API send (${shape.label})`, s.kitApi, s.official, 0));
    rows.push(sampleRow(`  official client, same bodies (${shape.label})`, s.official, s.official, 0));
    rows.push(sampleRow(`  raw undici posts, same bodies (${shape.label})`, s.raw, s.raw, 0));
    rows.push(sampleRow(`kit SMTP send (${shape.label})`, s.kitSmtp, s.bareSmtp, 0));
    rows.push(sampleRow(`  bare pooled nodemailer (${shape.label})`, s.bareSmtp, s.bareSmtp, 0));
    const vsOfficial = s.kitApi.median / s.official.median;
    const vsRaw = s.kitApi.median / s.raw.median;
    const vsBare = s.kitSmtp.median / s.bareSmtp.median;
    notes.push(
      `${shape.label}: kit API ${fmt(vsOfficial, 2)}× the official client (target ≥ 1.5× — ${vsOfficial >= 1.5 ? "met" : "NOT met"}), ${fmt(vsRaw, 2)}× raw undici (target ≥ 0.7× — ${vsRaw >= 0.7 ? "met" : "NOT met"}); kit SMTP ${fmt(vsBare, 2)}× bare nodemailer (target ≥ 0.8× — ${vsBare >= 0.8 ? "met" : "NOT met"}).`,
    );
  }
  notes.push(
    `Every kit send also read the account's settings (cached), checked suppressions in SQLite and recorded the send (${recorded > 0 ? "verified" : "NOT verified"} in the store).`,
  );
  return {
    title: "Sender — sends per second against the simulator (in its own process)",
    description: `One-recipient messages. The kit's \`send()\` (settings from the cache, suppression check in a SQLite file, the transport, then the send record, written behind the send in one transaction per 5 ms window) against, for the API, the official \`@mailchimp/mailchimp_transactional\` client and raw undici posts (16-connection pool) of the same \`messages/send\` bodies; for SMTP, a bare pooled nodemailer transport (${maxConnections} connections, STARTTLS + AUTH, like the kit's pool). Sequential runs send 1,000 messages, concurrent runs 1,600 with 16 in flight; ${runs} runs after ${warmup} warm-up, contenders in rotating order. Ratios are throughput against the row they are compared with (kit API vs official client; kit SMTP vs bare nodemailer; raw undici is shown against itself and compared in the notes).`,
    headers: ["", "median sends/s", "min", "max", "spread", "ratio"],
    rows,
    notes,
  };
}

export async function runSenderBenches(): Promise<Table[]> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-sender-"));
  const sim = await startSim();
  try {
    const store = openSqliteStore({ filename: join(dir, "sender.db") });
    const kit = mandrillKit({
      store,
      keys: addKey(undefined, "bench"),
      publicUrl: "https://app.example.com",
    });
    await kit.credentials.save("api-acct", {
      transport: "api",
      username: "ops@example.com",
      apiKey: API_KEY,
      fromEmail: "hello@example.com",
    });
    await kit.credentials.save("smtp-acct", {
      transport: "smtp",
      host: "smtp.mandrillapp.com",
      port: 587,
      username: "ops@example.com",
      apiKey: API_KEY,
      fromEmail: "hello@example.com",
    });
    const maxConnections = 4;
    const sender = createSender({
      context: kit.context,
      network: { allow: ["127.0.0.1"] }, // the simulator process on loopback
      api: { baseUrl: sim.apiUrl, connections: 16 },
      smtp: {
        maxConnections,
        route: () => ({ host: sim.smtp.host, port: sim.smtp.port, secure: false, tls: { ca: sim.smtp.ca } }),
      },
    });
    const message = (i: number): SendMessage => ({
      to: [{ email: `customer${i}@example.net`, name: "Customer" }],
      subject: "Your receipt",
      html: "<p>Thank you for your order.</p>",
      text: "Thank you for your order.",
      tags: ["receipt"],
      metadata: { order_id: `A${i}` },
    });
    const settings = await kit.credentials.get("api-acct");
    if (settings === undefined) throw new Error("no settings");
    const body = (i: number) => ({
      message: toMandrillMessage(message(i), settings, resolveRecipients(message(i)), `bench-${i}`),
    });

    const require = createRequire(import.meta.url);
    const official = (require("@mailchimp/mailchimp_transactional") as (key: string) => OfficialClient)(
      API_KEY,
    );
    official.basePath = sim.apiUrl.replace(/\/$/, "");
    const origin = new URL(sim.apiUrl);
    const pool = new Pool(origin.origin, { connections: 16 });
    const rawPost = async (i: number) => {
      const res = await pool.request({
        method: "POST",
        path: `${origin.pathname}messages/send.json`,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...body(i), key: API_KEY }),
      });
      await res.body.json();
    };
    const bare = nodemailer.createTransport({
      pool: true,
      maxConnections,
      host: sim.smtp.host,
      port: sim.smtp.port,
      secure: false,
      requireTLS: true,
      auth: { user: "ops@example.com", pass: API_KEY },
      tls: { ca: sim.smtp.ca },
    });

    const contenders: Record<Name, (i: number) => Promise<unknown>> = {
      kitApi: (i: number) => sender.send("api-acct", message(i)),
      official: (i: number) => official.messages.send(body(i)),
      raw: rawPost,
      kitSmtp: (i: number) => sender.send("smtp-acct", message(i)),
      bareSmtp: (i: number) =>
        bare.sendMail({
          from: "hello@example.com",
          to: `customer${i}@example.net`,
          subject: "Your receipt",
          html: "<p>Thank you for your order.</p>",
          text: "Thank you for your order.",
          headers: { "X-MC-Tags": "receipt" },
        }),
    };
    const runs = 7;
    const warmup = 1;
    const shapes = [
      { label: "sequential", total: 1000, concurrency: 1 },
      { label: "16 concurrent", total: 1600, concurrency: 16 },
    ];
    const results: Record<string, Record<Name, number[]>> = {};
    for (const shape of shapes) {
      const r = { kitApi: [], official: [], raw: [], kitSmtp: [], bareSmtp: [] } as Record<Name, number[]>;
      results[shape.label] = r;
      for (let run = 0; run < warmup + runs; run++) {
        // Rotate the order every run so no contender always goes first.
        const names = Object.keys(contenders) as Name[];
        const order = names.map((_, k) => names[(k + run) % names.length] as Name);
        for (const name of order) {
          const rate = await throughput(shape.total, shape.concurrency, (i) =>
            contenders[name](run * 1_000_000 + i),
          );
          if (run >= warmup) r[name].push(rate);
        }
      }
    }
    await sender.close();
    await pool.close();
    bare.close();
    const recorded = (await store.sends.list("api-acct", { limit: 1 })).items.length;
    await store.close();

    return [senderTable(shapes, results, recorded, { maxConnections, runs, warmup })];
  } finally {
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
