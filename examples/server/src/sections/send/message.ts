import type { SendResult } from "@mandrill-kit/core";

/** A recipient as the demo send takes it. */
export type Recipient = string | { email: string; name?: string };

/** Recipients one demo send may name (a demo, not a mailing tool). */
export const MAX_RECIPIENTS = 50;

/** Recipients from a form field or JSON (`"a@x, b@y"`, or an array of strings or `{ email, name }`). */
export function parseRecipients(value: unknown): Recipient[] {
  if (typeof value === "string") {
    return value
      .split(/[,;\n]/)
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }
  if (Array.isArray(value)) {
    return value.filter(
      (v): v is Recipient =>
        typeof v === "string" ||
        (v !== null && typeof v === "object" && typeof (v as { email?: unknown }).email === "string"),
    );
  }
  return [];
}

/** Per-recipient outcome of a send, as the API and the demo page show it. */
export function recipientsView(result: SendResult) {
  return result.recipients.map((r) => ({ email: r.email, status: r.status, reason: r.rejectReason }));
}
