/**
 * `exports/rejects`, `exports/whitelist` (= `exports/allowlist`), `exports/info`, `exports/list`, and
 * the download of a finished job's zip (docs/mandrill.md#exports-rejects-and-allowlists). A job is
 * `waiting` until `exportDelayMs` passed on the simulator's clock, then `complete` (or what an export
 * fault made it: `error`, or `working` for ever). The result is a snapshot taken when the job started.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { ZipFile } from "yazl";
import type { AccountState } from "../account-state.js";
import { MandrillApiError } from "../api-error.js";
import type { SimContext } from "../context.js";
import { formatMandrillTime, formatOptionalTime } from "../mandrill-time.js";
import { type ApiHandler, requireString } from "./api-call.js";

/** One export job. */
interface ExportJob {
  id: string;
  token: string;
  account: AccountState;
  type: "reject" | "whitelist";
  createdAt: number;
  outcome: "complete" | "error" | "stall";
  truncate: boolean;
  /** The CSV lines (header first), or the CSV an `export-csv` fault gave. */
  csv: string[] | string;
}

const jobs = new WeakMap<SimContext, Map<string, ExportJob>>();

function jobsOf(ctx: SimContext): Map<string, ExportJob> {
  let map = jobs.get(ctx);
  if (map === undefined) {
    map = new Map();
    jobs.set(ctx, map);
  }
  return map;
}

/** A CSV field, quoted when it needs to be (RFC 4180). */
function field(value: string | null): string {
  if (value === null) return "";
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function snapshot(account: AccountState, type: ExportJob["type"]): string[] {
  if (type === "whitelist") {
    return [
      "email,detail,created_at",
      ...[...account.allowlist.values()].map((e) =>
        [e.email, e.detail, formatMandrillTime(e.createdAt)].map(field).join(","),
      ),
    ];
  }
  return [
    "email,reason,detail,created_at,expires_at,last_event_at",
    ...account.rejects.map((e) =>
      [
        e.email,
        e.reason,
        e.detail,
        formatMandrillTime(e.createdAt),
        formatOptionalTime(e.expiresAt),
        formatMandrillTime(e.lastEventAt),
      ]
        .map(field)
        .join(","),
    ),
  ];
}

function state(ctx: SimContext, job: ExportJob): "waiting" | "working" | "complete" | "error" {
  const done = ctx.now() >= job.createdAt + ctx.options.exportDelayMs;
  if (!done) return "waiting";
  if (job.outcome === "stall") return "working";
  return job.outcome;
}

function jobJson(ctx: SimContext, job: ExportJob): Record<string, unknown> {
  const s = state(ctx, job);
  const finished = s === "complete" || s === "error";
  return {
    id: job.id,
    created_at: formatMandrillTime(job.createdAt),
    type: job.type,
    finished_at: finished ? formatMandrillTime(job.createdAt + ctx.options.exportDelayMs) : null,
    state: s,
    result_url: s === "complete" ? `${ctx.baseUrl}/exports/${job.token}/${job.type}.zip` : null,
  };
}

function start(type: ExportJob["type"]): ApiHandler {
  return ({ ctx, key, account }) => {
    const now = ctx.now();
    const faults = ctx.faults.takeExport({ key: key.key });
    const kinds = new Set(faults.map((f) => f.kind));
    const custom = faults.find((f) => f.kind === "export-csv");
    const map = jobsOf(ctx);
    const job: ExportJob = {
      id: `${formatMandrillTime(now)}.${String(map.size + 1).padStart(5, "0")}`,
      token: randomBytes(16).toString("hex"),
      account,
      type,
      createdAt: now,
      outcome: kinds.has("export-error") ? "error" : kinds.has("export-stall") ? "stall" : "complete",
      truncate: kinds.has("export-truncate"),
      csv: custom?.kind === "export-csv" ? custom.csv : snapshot(account, type),
    };
    map.set(job.id, job);
    return jobJson(ctx, job);
  };
}

/** `exports/rejects`: the denylist as `rejects.csv` in a zip. */
export const rejects: ApiHandler = start("reject");
/** `exports/whitelist` (= `exports/allowlist`): the allowlist as `whitelist.csv` in a zip. */
export const whitelist: ApiHandler = start("whitelist");

/** `exports/info`: `Unknown_Export` for an id of another account or none. */
export const info: ApiHandler = ({ ctx, account, params }) => {
  const id = requireString(params, "id");
  const job = jobsOf(ctx).get(id);
  if (job === undefined || job.account !== account) {
    throw new MandrillApiError("Unknown_Export", `No export exists with the id '${id}'`);
  }
  return jobJson(ctx, job);
};

/** `exports/list`: every job of the account. */
export const list: ApiHandler = ({ ctx, account }) =>
  [...jobsOf(ctx).values()].filter((j) => j.account === account).map((j) => jobJson(ctx, j));

/** `GET /exports/<token>/<type>.zip`: the result of a complete job; 404 otherwise. */
export function serveExport(ctx: SimContext, _req: IncomingMessage, res: ServerResponse, url: URL): void {
  const [, , token] = url.pathname.split("/");
  const job = [...jobsOf(ctx).values()].find((j) => j.token === token);
  if (job === undefined || state(ctx, job) !== "complete") {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("No such export\n");
    return;
  }
  const zip = new ZipFile();
  const lines = typeof job.csv === "string" ? [job.csv] : job.csv;
  const csv = Readable.from(
    (function* () {
      for (let i = 0; i < lines.length; i += 500) {
        yield `${lines.slice(i, i + 500).join("\n")}${typeof job.csv === "string" ? "" : "\n"}`;
      }
    })(),
  );
  zip.addReadStream(csv, job.type === "reject" ? "rejects.csv" : "whitelist.csv");
  zip.end();
  res.writeHead(200, { "Content-Type": "application/zip" });
  if (!job.truncate) {
    zip.outputStream.pipe(res);
    return;
  }
  const chunks: Buffer[] = [];
  zip.outputStream.on("data", (c: Buffer) => chunks.push(c));
  zip.outputStream.on("end", () => {
    const all = Buffer.concat(chunks);
    res.end(all.subarray(0, Math.floor(all.length / 2)));
  });
}
