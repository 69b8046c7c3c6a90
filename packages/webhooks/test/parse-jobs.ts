/** Parse jobs for the tests of the parse threads: the captured POST, and signed batches like it. */
import { resolveSuppressionPolicy } from "@mandrill-kit/core";
import { signWebhook } from "@mandrill-kit/webhooks/testing";
import { inputsFromColumns, type ParseJobInput, type ParseJobResult } from "../src/parse-job.js";
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
