/**
 * Reading an export: start the job, poll `exports/info` with backoff until it completes or the
 * deadline passes, download `result_url` through the sender's network guard into a temporary file,
 * then stream the zip's CSV row by row (docs/mandrill.md#exports-rejects-and-allowlists). Nothing of
 * the file is held in memory whole.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { MandrillKitError, MandrillKitNetworkError } from "@mandrill-kit/core";
import { parse } from "csv-parse";
import { Agent, request } from "undici";
import yauzl from "yauzl";
import type { ApiClient } from "../api-client.js";
import type { NetworkGuard } from "../network-guard.js";
import { invalidExport } from "./rows.js";

/** Mandrill's export job (`exports/info`). */
interface ExportJob {
  id: string;
  state: string;
  result_url?: string | null;
}

/** Polling and download limits. */
export interface ExportLimits {
  deadlineAt: number;
  pollMs: number;
  pollMaxMs: number;
  downloadTimeoutMs: number;
  maxBytes: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

function failed(message: string): MandrillKitError {
  return new MandrillKitError("ERR_MK_DENYLIST_EXPORT_FAILED", `${message} Nothing was changed.`);
}

/** Starts `exports/<kind>` and waits for the job to complete; returns its `result_url`. */
export async function runExportJob(
  api: ApiClient,
  key: string,
  kind: "rejects" | "whitelist",
  limits: ExportLimits,
): Promise<string> {
  let job = await api.call<ExportJob>(`exports/${kind}`, key, {});
  let wait = limits.pollMs;
  for (;;) {
    if (job.state === "complete" && typeof job.result_url === "string") return job.result_url;
    if (job.state === "error" || job.state === "expired") {
      throw failed(`Mandrill's export job ${job.id} (exports/${kind}) ended in state "${job.state}".`);
    }
    const left = limits.deadlineAt - limits.now();
    if (left <= 0) {
      throw failed(
        `Mandrill's export job ${job.id} (exports/${kind}) was still "${job.state}" when the sync's deadline passed.`,
      );
    }
    await limits.sleep(Math.min(wait, left));
    wait = Math.min(wait * 2, limits.pollMaxMs);
    job = await api.call<ExportJob>("exports/info", key, { id: job.id });
  }
}

/** Downloads `url` into a new temporary directory; the caller removes it with {@link removeDownload}. */
export async function download(url: string, guard: NetworkGuard, limits: ExportLimits): Promise<string> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw invalidExport("result_url", `${JSON.stringify(url.slice(0, 200))} is not a URL`);
  }
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw invalidExport("result_url", `the ${target.protocol} scheme is not downloaded`);
  }
  const dir = await mkdtemp(join(tmpdir(), "mk-denylist-"));
  const file = join(dir, "export.zip");
  // A connection of its own, through the guard: the address is resolved once and checked by the policy.
  const agent = new Agent({
    connect: guard.connector(limits.downloadTimeoutMs),
    headersTimeout: limits.downloadTimeoutMs,
    bodyTimeout: limits.downloadTimeoutMs,
  });
  try {
    const res = await request(target, { dispatcher: agent, maxRedirections: 0 } as never);
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw failed(`Downloading Mandrill's export answered HTTP ${res.statusCode}.`);
    }
    let size = 0;
    const body = res.body as unknown as Readable;
    body.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes)
        body.destroy(invalidExport("download", `larger than ${limits.maxBytes} bytes`));
    });
    await pipeline(body, createWriteStream(file, { mode: 0o600 }));
    return file;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (error instanceof MandrillKitError || error instanceof MandrillKitNetworkError) throw error;
    throw failed(`Downloading Mandrill's export failed (${(error as Error).message}).`);
  } finally {
    await agent.close();
  }
}

/** Removes a file made by {@link download} and its directory. */
export async function removeDownload(file: string): Promise<void> {
  await rm(join(file, ".."), { recursive: true, force: true });
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (error, zip) =>
      error ? reject(invalidExport("zip", error.message, error)) : resolve(zip),
    ),
  );
}

/** The entry named `name` of the zip, as a stream. */
async function entryStream(file: string, name: string): Promise<Readable> {
  const zip = await openZip(file);
  return new Promise((resolve, reject) => {
    zip.on("error", (error: Error) => reject(invalidExport("zip", error.message, error)));
    zip.on("end", () => reject(invalidExport("zip", `no ${name} in the archive`)));
    zip.on("entry", (entry: yauzl.Entry) => {
      if (entry.fileName !== name) {
        zip.readEntry();
        return;
      }
      zip.openReadStream(entry, (error, stream) =>
        error ? reject(invalidExport(name, error.message, error)) : resolve(stream),
      );
    });
    zip.readEntry();
  });
}

/**
 * Streams the CSV `name` of the zip `file` as records keyed by header, with their line numbers.
 * Refuses a file without one of `required` columns, naming them.
 */
export async function* csvRecords(
  file: string,
  name: string,
  required: readonly string[],
): AsyncGenerator<{ fields: Record<string, string>; line: number }> {
  const stream = await entryStream(file, name);
  const parser = parse({
    columns: (header: string[]) => {
      const names = header.map((h) => h.trim().toLowerCase());
      const missing = required.filter((c) => !names.includes(c));
      if (missing.length > 0)
        throw invalidExport(`${name}, line 1`, `missing column(s) ${missing.join(", ")}`);
      return names;
    },
    skip_empty_lines: true,
    trim: true,
  });
  stream.on("error", (error: Error) => parser.destroy(invalidExport(name, error.message, error)));
  stream.pipe(parser);
  // The line of a record: the header is line 1 (a quoted field spanning lines is counted once).
  let line = 1;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      line += 1;
      yield { fields: record, line };
    }
  } catch (error) {
    if (error instanceof MandrillKitError) throw error;
    throw invalidExport(`${name}, line ${line + 1}`, (error as Error).message, error);
  } finally {
    stream.destroy();
  }
}
