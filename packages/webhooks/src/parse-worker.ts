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
  let reply: { id: number; result?: ParseJobResult; error?: string; body?: ArrayBuffer };
  try {
    reply = { id: message.id, result: runParseJob(message.input) };
  } catch (error) {
    reply = { id: message.id, error: error instanceof Error ? error.message : String(error) };
  }
  const columns = reply.result?.kind === "batch" ? reply.result.columns : undefined;
  // The packed batch's buffers move to the main thread (each is its own memory).
  const moved =
    columns === undefined
      ? []
      : [
          columns.text.buffer,
          columns.bounds.buffer,
          columns.raws.buffer,
          columns.rawBounds.buffer,
          columns.eventAts.buffer,
        ].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  // So does the body's memory, which this thread no longer reads (nothing in the reply is a view of
  // it: decoding wrote the form's bytes into memory of their own): the pool gathers later bodies in it.
  const body = message.input.body.buffer;
  if (body instanceof ArrayBuffer && body.byteLength > 0 && !moved.includes(body)) {
    reply.body = body;
    moved.push(body);
  }
  port.postMessage(reply, moved);
});
