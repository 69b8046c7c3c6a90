/**
 * The worker thread of the router's parse pool (see parse-pool.ts): runs one parse job per message
 * and answers `{ id, result }`, or `{ id, error }` when the job threw (the router then answers 5xx).
 */
import { parentPort } from "node:worker_threads";
import { MandrillKitError } from "@mandrill-kit/core";
import { type ParseJobInput, type ParseJobResult, runParseJob } from "./parse-job.js";

const port = parentPort;
if (port === null)
  throw new MandrillKitError("ERR_MK_INTERNAL", "parse-worker runs in a worker thread of the webhook router");
// Loaded: from now on the pool hands this thread jobs (see parse-pool.ts).
port.postMessage({ ready: true });
port.on("message", (message: { id: number; input: ParseJobInput }) => {
  let reply: { id: number; result?: ParseJobResult; error?: string };
  try {
    reply = { id: message.id, result: runParseJob(message.input) };
  } catch (error) {
    reply = { id: message.id, error: error instanceof Error ? error.message : String(error) };
  }
  const columns = reply.result?.kind === "batch" ? reply.result.columns : undefined;
  // The packed batch's buffers move to the main thread (each is its own memory).
  port.postMessage(
    reply,
    columns === undefined
      ? []
      : [
          columns.text.buffer,
          columns.bounds.buffer,
          columns.raws.buffer,
          columns.rawBounds.buffer,
          columns.eventAts.buffer,
        ].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer),
  );
});
