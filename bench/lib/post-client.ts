/**
 * A load client in its own process (like Mandrill, it is not the server's process): it builds signed
 * batches and posts them over one keep-alive loopback connection when the parent asks, and reports
 * per-batch times. Messages: { run: { port, path, batches, seed, key, url } } → { ms, perBatch }.
 */
import { Agent, request } from "node:http";
import { signWebhook } from "@mandrill-kit/webhooks/testing";
import { realisticBatch } from "./events.js";

interface RunCommand {
  port: number;
  path: string;
  batches: number;
  seed: number;
  key: string;
  url: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(port: number, path: string, body: string, headers: Record<string, string>): Promise<number> {
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

process.on("message", async (message: { run?: RunCommand; exit?: true }) => {
  if (message.exit) {
    agent.destroy();
    process.exit(0);
  }
  const run = message.run;
  if (run === undefined) return;
  const bodies = Array.from({ length: run.batches }, (_, i) =>
    signWebhook({ key: run.key, url: run.url, events: realisticBatch(run.seed + i * 1000, 1000) }),
  );
  const perBatch: number[] = [];
  const start = performance.now();
  for (const b of bodies) {
    const t = performance.now();
    const status = await post(run.port, run.path, b.body, b.headers);
    if (status !== 200) {
      process.send?.({ error: `answered ${status}` });
      return;
    }
    perBatch.push(performance.now() - t);
  }
  process.send?.({
    ms: performance.now() - start,
    perBatch,
    bytes: Buffer.byteLength(bodies[0]?.body ?? ""),
  });
});
process.send?.({ ready: true });
