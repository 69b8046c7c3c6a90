/**
 * A load client in its own process (like Mandrill, it is not the server's process): it builds signed
 * batches and posts them over keep-alive loopback connections when the parent asks, and reports
 * per-batch times. Messages:
 * - { run: { port, path, batches, seed, key, url } } → { ms, perBatch, bytes }: builds `batches` bodies,
 *   then posts them one after another over one connection.
 * - { prepare: { slot, batches, seed, key, url } } → { prepared, bytes }: builds and keeps a set of bodies.
 * - { blast: { slot, targets: [{ port, path }], inFlight } } → { ms, perBatch, bytes, cpuMs }: posts the
 *   prepared set with `inFlight` requests outstanding; in-flight slot k is bound to targets[k % n] and
 *   every slot takes the next batch from one shared queue (a least-busy split, like a load balancer).
 */
import { Agent, request } from "node:http";
import { type SignedWebhook, signWebhook } from "@mandrill-kit/webhooks/testing";
import { realisticBatch } from "./events.js";

interface Signing {
  batches: number;
  seed: number;
  key: string;
  url: string;
}

interface RunCommand extends Signing {
  port: number;
  path: string;
}

interface PrepareCommand extends Signing {
  slot: string;
}

interface BlastCommand {
  slot: string;
  targets: { port: number; path: string }[];
  inFlight: number;
}

/**
 * Keep-alive agents of the command running now. Each command gets new ones and closes them at its end:
 * a socket kept idle between commands (seconds of signing) could be closed by the server's keep-alive
 * timeout just as the next command reuses it ("socket hang up").
 */
const agents = new Map<string, Agent>();
function agentFor(port: number, sockets: number): Agent {
  const id = `${port}/${sockets}`;
  let agent = agents.get(id);
  if (agent === undefined) {
    agent = new Agent({ keepAlive: true, maxSockets: sockets });
    agents.set(id, agent);
  }
  return agent;
}
function closeAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

function post(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
  agent: Agent,
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

function sign(s: Signing): SignedWebhook[] {
  return Array.from({ length: s.batches }, (_, i) =>
    signWebhook({ key: s.key, url: s.url, events: realisticBatch(s.seed + i * 1000, 1000) }),
  );
}

const prepared = new Map<string, SignedWebhook[]>();

async function blast(command: BlastCommand): Promise<void> {
  const bodies = prepared.get(command.slot);
  if (bodies === undefined) {
    process.send?.({ error: `no prepared set "${command.slot}"` });
    return;
  }
  const perBatch: number[] = [];
  let next = 0;
  let failure: string | undefined;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const slot = async (k: number) => {
    const target = command.targets[k % command.targets.length] as { port: number; path: string };
    const agent = agentFor(target.port, Math.ceil(command.inFlight / command.targets.length));
    while (failure === undefined && next < bodies.length) {
      const b = bodies[next++] as SignedWebhook;
      const t = performance.now();
      const status = await post(target.port, target.path, b.body, b.headers, agent);
      if (status !== 200) failure = `port ${target.port} answered ${status}`;
      perBatch.push(performance.now() - t);
    }
  };
  try {
    await Promise.all(Array.from({ length: command.inFlight }, (_, k) => slot(k)));
  } catch (error) {
    failure = (error as Error).message;
  }
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  closeAgents();
  if (failure !== undefined) {
    process.send?.({ error: failure });
    return;
  }
  process.send?.({
    ms,
    perBatch,
    bytes: Buffer.byteLength(bodies[0]?.body ?? ""),
    cpuMs: (used.user + used.system) / 1000,
  });
}

process.on(
  "message",
  async (message: { run?: RunCommand; prepare?: PrepareCommand; blast?: BlastCommand; exit?: true }) => {
    if (message.exit) {
      closeAgents();
      process.exit(0);
    }
    if (message.prepare !== undefined) {
      const bodies = sign(message.prepare);
      prepared.set(message.prepare.slot, bodies);
      process.send?.({ prepared: true, bytes: Buffer.byteLength(bodies[0]?.body ?? "") });
      return;
    }
    if (message.blast !== undefined) {
      await blast(message.blast);
      return;
    }
    const run = message.run;
    if (run === undefined) return;
    const bodies = sign(run);
    const agent = agentFor(run.port, 1);
    const perBatch: number[] = [];
    const start = performance.now();
    for (const b of bodies) {
      const t = performance.now();
      const status = await post(run.port, run.path, b.body, b.headers, agent).catch(
        (error: Error) => error.message,
      );
      if (status !== 200) {
        closeAgents();
        process.send?.({ error: typeof status === "number" ? `answered ${status}` : status });
        return;
      }
      perBatch.push(performance.now() - t);
    }
    closeAgents();
    process.send?.({
      ms: performance.now() - start,
      perBatch,
      bytes: Buffer.byteLength(bodies[0]?.body ?? ""),
    });
  },
);
process.send?.({ ready: true });
