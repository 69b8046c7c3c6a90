/**
 * Parse jobs for the tests of the parse threads: the captured POST, signed batches like it, and the
 * captured POST's router.
 */
import { createMemoryStore, resolveSuppressionPolicy, type Store } from "@mandrill-kit/core";
import { signWebhook } from "@mandrill-kit/webhooks/testing";
import express from "express";
import { buildRouter } from "../src/express-route.js";
import { createDiagnosisLog } from "../src/mismatch-diagnoses.js";
import { inputsFromColumns, type ParseJobInput, type ParseJobResult } from "../src/parse-job.js";
import type { ParsePool } from "../src/parse-pool.js";
import { resolveRouterDeps, resolveWebhooksOptions } from "../src/webhooks-options.js";
import { CAPTURED_CLICK } from "./fixtures/captured.js";
import { plainInputs } from "./helpers.js";

export const FORM = "application/x-www-form-urlencoded";
export const policy = resolveSuppressionPolicy();

/** The captured POST as a parse job (its key, Callback URL and signature). */
export function capturedJob(overrides: Partial<ParseJobInput> = {}): ParseJobInput {
  return {
    body: Buffer.from(CAPTURED_CLICK.body),
    contentType: FORM,
    signature: CAPTURED_CLICK.signature,
    account: "default",
    callbackUrl: CAPTURED_CLICK.url,
    keys: [CAPTURED_CLICK.key],
    policy,
    receivedAt: 1_700_000_000_000,
    skipHandlersFor: [],
    ...overrides,
  };
}

export function signedJob(events: unknown[] | string, overrides: Partial<ParseJobInput> = {}): ParseJobInput {
  const signed = signWebhook({ key: CAPTURED_CLICK.key, url: CAPTURED_CLICK.url, events });
  return capturedJob({ body: Buffer.from(signed.body), signature: signed.signature, ...overrides });
}

/** A result with its packed inputs unpacked (a packed buffer arrives as a Uint8Array, not a Buffer). */
export function comparable(result: ParseJobResult) {
  return result.kind === "batch"
    ? { ...result, columns: plainInputs(inputsFromColumns(result.columns)) }
    : result;
}

/**
 * The captured POST's router on a new memory store (the caller closes it), parsing bodies of any size
 * with `threads`.
 */
export function capturedRouterWith(threads: ParsePool): { app: express.Express; store: Store } {
  const store = createMemoryStore();
  const captured = new URL(CAPTURED_CLICK.url);
  const config = resolveWebhooksOptions({
    store,
    publicUrl: captured.origin,
    path: captured.pathname,
    key: CAPTURED_CLICK.key,
    parseThreadMinBytes: 0,
  });
  const app = express();
  app.use(
    buildRouter({
      config,
      deps: resolveRouterDeps(config, undefined),
      diagnosisLog: createDiagnosisLog(config.clock),
      afterIngest: () => undefined,
      doneTypes: () => config.skipHandlersFor,
      parsePool: () => threads,
    }),
  );
  return { app, store };
}
