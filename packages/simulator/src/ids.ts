import { randomBytes } from "node:crypto";

/** A Mandrill message `_id`: 32 lower-case hex digits (docs/mandrill.md#send-response). */
export function newMessageId(): string {
  return randomBytes(16).toString("hex");
}

/** A webhook `auth_key`: 22 base64url characters, the shape of the keys seen in captured requests. */
export function newWebhookKey(): string {
  return randomBytes(16).toString("base64url");
}

/** A `_version` value for message snapshots (22 characters, like Mandrill's). */
export function newVersion(): string {
  return randomBytes(16).toString("base64url");
}
