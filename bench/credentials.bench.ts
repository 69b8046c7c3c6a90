/**
 * Credential store benchmarks (issue 3): JWE encrypt / decrypt latency and `get` with a warm and a
 * cold cache, each beside a baseline from the same run.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addKey, createCredentials } from "@mandrill-kit/credentials";
import { openSqliteStore } from "@mandrill-kit/sqlite";
// The JWE layer and the key ring are internals of the package (not exported): measured from source.
import { decryptSecret, encryptSecret } from "../packages/credentials/src/jwe.js";
import { checkKeySet, createKeyRing } from "../packages/credentials/src/key-ring.js";
import type { Table } from "./lib/report.js";
import { fmt, summarize } from "./lib/stats.js";

const API_KEY = "md-0123456789abcdefABCDEF";

/** Per-operation latencies in microseconds. */
async function perOp(
  n: number,
  warmup: number,
  op: (i: number) => unknown | Promise<unknown>,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await op(i);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await op(i);
    out[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return out;
}

function pct(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

export async function runCredentialsBenches(): Promise<Table[]> {
  const dir = mkdtempSync(join(tmpdir(), "mk-bench-cred-"));
  try {
    const keys = addKey(undefined, "bench");
    const ring = await createKeyRing(checkKeySet(keys));
    const jwe = await encryptSecret(ring, "acme", "apiKey", API_KEY);
    const N = 3000;
    const enc = await perOp(N, 300, () => encryptSecret(ring, "acme", "apiKey", API_KEY));
    const dec = await perOp(N, 300, () => decryptSecret(ring, "acme", "apiKey", jwe));
    // Floor: the same AES-256-GCM work with node:crypto and no JOSE (no key wrap, no header checks).
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", key, iv);
    const ct = Buffer.concat([c.update(API_KEY, "utf8"), c.final()]);
    const tag = c.getAuthTag();
    const rawEnc = await perOp(N, 300, () => {
      const e = createCipheriv("aes-256-gcm", key, randomBytes(12));
      return Buffer.concat([e.update(API_KEY, "utf8"), e.final(), e.getAuthTag()]);
    });
    const rawDec = await perOp(N, 300, () => {
      const d = createDecipheriv("aes-256-gcm", key, iv);
      d.setAuthTag(tag);
      return Buffer.concat([d.update(ct), d.final()]).toString("utf8");
    });

    const store = openSqliteStore({ filename: join(dir, "cred.db") });
    const credentials = createCredentials({
      store,
      keys,
      publicUrl: "https://app.example.com",
      cacheTtlMs: 60_000,
    });
    const accounts = 2000;
    for (let i = 0; i < accounts; i++) {
      await credentials.save(`acct-${i}`, {
        username: "ops@example.com",
        apiKey: `${API_KEY}-${i}`,
        fromEmail: "hello@example.com",
        webhookKey: `whk-${i}-abcdefghijklmnop`,
      });
    }
    credentials.invalidate();
    // Cold: each account read from SQLite and its two secrets decrypted, once.
    const cold = await perOp(accounts - 200, 200, (i) => credentials.get(`acct-${i}`));
    // Warm: the same accounts again, served from memory.
    const warm = await perOp(20_000, 2000, (i) => credentials.get(`acct-${i % accounts}`));
    const map = new Map<string, object>();
    for (let i = 0; i < accounts; i++) map.set(`acct-${i}`, {});
    const mapBaseline = await perOp(20_000, 2000, async (i) => map.get(`acct-${i % accounts}`));
    await store.close();

    const row = (label: string, v: number[], base: number[] | null) => {
      const s = summarize(v);
      const b = base === null ? null : summarize(base);
      return [
        label,
        fmt(s.median, 2),
        fmt(pct(v, 0.99), 2),
        b === null ? "1.00×" : `${fmt(s.median / b.median, 1)}×`,
      ];
    };
    const medEnc = summarize(enc).median;
    const p99Dec = pct(dec, 0.99);
    const medWarm = summarize(warm).median;
    return [
      {
        title: "Credentials — JWE (A256KW + A256GCM, node-jose) and get()",
        description: `Per-operation latency in µs for a 25-character API key: ${N} encryptions and decryptions after 300 warm-ups; \`get()\` cold (SQLite read + two decryptions, ${accounts - 200} accounts) and warm (in-memory cache, 20,000 calls). Baselines: raw node:crypto AES-256-GCM of the same text (no key wrap, no JOSE), and an \`await\` of a plain \`Map.get\`. Ratios are time (lower is faster).`,
        headers: ["", "median µs", "p99 µs", "ratio vs baseline"],
        rows: [
          row("kit: encryptSecret", enc, rawEnc),
          row("baseline: node:crypto AES-256-GCM encrypt", rawEnc, null),
          row("kit: decryptSecret (strict header checks + node-jose)", dec, rawDec),
          row("baseline: node:crypto AES-256-GCM decrypt", rawDec, null),
          row("kit: credentials.get(), cold (SQLite + decrypt)", cold, null),
          row("kit: credentials.get(), warm cache", warm, mapBaseline),
          row("baseline: await Map.get", mapBaseline, null),
        ],
        notes: [
          `Target cached get() ≤ 5 µs median — ${medWarm <= 5 ? "met" : "NOT met"} (${fmt(medWarm, 2)} µs); target uncached decrypt ≤ 1 ms p99 — ${p99Dec <= 1000 ? "met" : "NOT met"} (${fmt(p99Dec, 0)} µs). Encrypt median ${fmt(medEnc, 0)} µs (saves only).`,
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
