/**
 * Timers and the HTTP and fsync measurements of the ingest cost breakdown (issue 19). Split from
 * bench/ingest-breakdown.bench.ts.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import { ask, KIT_CALLBACK_URL, KIT_PATH, KIT_WEBHOOK_KEY, startPostClient } from "./server-process.js";

export interface Timer {
  wall: number[];
  cpu: number[];
}
export const timer = (): Timer => ({ wall: [], cpu: [] });

/** Runs `fn`, adding its wall and CPU milliseconds to `t` (when given). */
export async function timed<T>(t: Timer | undefined, fn: () => T | Promise<T>): Promise<T> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const out = await fn();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  t?.wall.push(wall);
  t?.cpu.push((used.user + used.system) / 1000);
  return out;
}

export const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

/** Read, route and response over loopback, the client in its own process, 1 in flight. */
export async function measureHttp(batches: number): Promise<{ read: Timer; route: Timer; response: Timer }> {
  const read = timer();
  const route = timer();
  const response = timer();
  const arrived = new WeakMap<IncomingMessage, { wall: number; cpu: NodeJS.CpuUsage }>();
  const since = (t: Timer, from: { wall: number; cpu: NodeJS.CpuUsage }) => {
    const used = process.cpuUsage(from.cpu);
    t.wall.push(performance.now() - from.wall);
    t.cpu.push((used.user + used.system) / 1000);
  };
  const now = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
  const app = express();
  app.post("/webhooks/mandrill/:account", (req, res) => {
    const start = arrived.get(req) ?? now();
    since(route, start);
    // The router's readRawBody loop: collect chunks, count bytes, concatenate at the end.
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      chunks.push(c);
    });
    req.on("end", () => {
      const body = Buffer.concat(chunks, size);
      since(read, start);
      const r0 = now();
      res.status(200).json({ received: body.length > 0 ? 1000 : 0, new: 1000, duplicates: 0 });
      since(response, r0);
    });
  });
  const server = createServer(app);
  server.prependListener("request", (req: IncomingMessage) => {
    arrived.set(req, now());
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
  const client = await startPostClient();
  try {
    const run = (n: number, seed: number) =>
      ask(client, {
        run: { port, path: KIT_PATH, batches: n, seed, key: KIT_WEBHOOK_KEY, url: KIT_CALLBACK_URL },
      });
    await run(5, 900_000_000);
    for (const t of [read, route, response]) {
      t.wall.length = 0;
      t.cpu.length = 0;
    }
    await run(batches, 910_000_000);
  } finally {
    client.send({ exit: true });
    await new Promise((r) => server.close(r));
  }
  return { read, route, response };
}

/** fdatasync after appending `bytes`, the way a WAL commit ends; milliseconds per call. */
export function measureFsync(dir: string, bytes: number, reps: number): number[] {
  const fd = openSync(join(dir, `fsync-${bytes}.bin`), "a");
  const chunk = Buffer.alloc(bytes, 0x61);
  const out: number[] = [];
  try {
    for (let i = 0; i < reps + 3; i++) {
      writeSync(fd, chunk);
      const t = performance.now();
      fdatasyncSync(fd);
      if (i >= 3) out.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
