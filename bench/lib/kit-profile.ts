/**
 * The example server's main thread under sustained load, split by stage from a `node --cpu-prof`
 * profile (issue 19's cost breakdown). Split from bench/ingest-breakdown.bench.ts; adapt FILE_STAGES
 * when the router's or the stores' files move.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type FrameRule, splitProfile } from "./cpu-profile.js";
import {
  ask,
  KIT_CALLBACK_URL,
  KIT_PATH,
  KIT_WEBHOOK_KEY,
  startKit,
  startPostClient,
} from "./server-process.js";

/** Functions of the router's body reader (the rest of its old form.ts decoded). */
export const FORM_READ = new Set([
  "readRawBody",
  "onData",
  "onEnd",
  "onError",
  "onAborted",
  "onTimeout",
  "finish",
]);

/** Source files of the kit, by the stage their frames belong to (old and new router layouts). */
export const FILE_STAGES: [RegExp, string][] = [
  [/\/webhooks\/src\/(read-body|form)\.ts$/, "read-or-decode"],
  [/\/webhooks\/src\/form-body\.ts$/, "decode"],
  [
    /\/webhooks\/src\/(verify-request|signature|diagnose|mismatch-diagnoses)\.ts$|\/core\/src\/webhook-signature\.ts$/,
    "verify",
  ],
  [/\/core\/src\/parse-events(-bytes)?\.ts$/, "parse"],
  [
    /\/core\/src\/(event-key|suppression-policy)\.ts$|\/webhooks\/src\/ingest(-events)?\.ts$/,
    "keys + policy",
  ],
  [/better-sqlite3\/lib\/methods\/transaction/, "commit (BEGIN/COMMIT: WAL writes, checkpoints)"],
  [
    /\/(sqlite|postgres)\/src\/|\/core\/src\/(adapter\/|store\/|store-rules\.ts)|node_modules\/(\.pnpm\/)?(pg|pg-protocol|pg-pool)[@/]/,
    "SQL (statements, driver)",
  ],
  [/\/webhooks\/src\//, "router (other)"],
  [/express\/lib\/response|^node:_http_outgoing/, "response"],
  [
    /node_modules\/(\.pnpm\/)?(express|router|helmet|serve-static|send|finalhandler|body-parser)[@/]|\/(credentials|sender)\/src\//,
    "Express + middleware",
  ],
  [/^node:(_http|net|internal\/stream|stream)/, "read (HTTP, socket, body chunks)"],
];

/** The dispatcher's files: everything under them (its claims and completes in the store too) is its own. */
export const DISPATCHER =
  /\/webhooks\/src\/(dispatcher|claim-round|dispatch-options|event-runner|handler-run|handler-registry)\.ts$/;
export const DISPATCH_STAGE = "handlers (dispatcher: claims, completes, runs)";
export const KIT_CONTEXT: FrameRule = (url) => (DISPATCHER.test(url) ? DISPATCH_STAGE : undefined);

/**
 * The stage of a frame in the example server's CPU profile, by the file it is in (innermost recognised
 * frame wins; adapt FILE_STAGES when the router's or the stores' files move).
 */
export const KIT_FRAMES: FrameRule = (url, name) => {
  const stage = FILE_STAGES.find(([pattern]) => pattern.test(url))?.[1];
  if (stage !== "read-or-decode") return stage;
  return FORM_READ.has(name) ? "read (HTTP, socket, body chunks)" : "decode";
};
/** The stages of the example server's main thread under sustained load, from `node --cpu-prof`. */
export async function profileKit(
  dir: string,
  batches: number,
  database?: { url: string; schema: string },
): Promise<{ stages: Map<string, number>; totalMs: number; batches: number; eventsPerSec: number }> {
  const profDir = join(dir, `prof-${database === undefined ? "sqlite" : "pg"}`);
  const server = await startKit({
    dataDir: join(dir, `prof-data-${database === undefined ? "sqlite" : "pg"}`),
    ...(database === undefined ? {} : { database }),
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "--cpu-prof-interval=500"],
  });
  const client = await startPostClient();
  let window: [number, number];
  let eventsPerSec: number;
  try {
    const blast = async (slot: string, seed: number, n: number) => {
      await ask(client, {
        prepare: { slot, batches: n, seed, key: KIT_WEBHOOK_KEY, url: KIT_CALLBACK_URL },
      });
      const from = Number(process.hrtime.bigint() / 1000n);
      const r = await ask<{ ms: number; perBatch: number[] }>(client, {
        blast: { slot, targets: [{ port: server.port, path: KIT_PATH }], inFlight: 2 },
      });
      return {
        from,
        to: Number(process.hrtime.bigint() / 1000n),
        rate: (r.perBatch.length * 1000) / (r.ms / 1000),
      };
    };
    await blast("warm", 3_000_000_000, 20);
    const measured = await blast("profiled", 3_100_000_000, batches);
    window = [measured.from, measured.to];
    eventsPerSec = measured.rate;
  } finally {
    client.send({ exit: true });
    await server.stop();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (file === undefined) throw new Error("the example server wrote no CPU profile");
  return {
    ...splitProfile(join(profDir, file), KIT_FRAMES, window[0], window[1], KIT_CONTEXT),
    batches,
    eventsPerSec,
  };
}
