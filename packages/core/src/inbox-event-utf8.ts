/**
 * An inbox event whose JSON text is held as UTF-8 bytes ({@link InboxEventInput.rawUtf8}), with
 * `raw` decoded from them only when something reads it. The webhook router's parse threads hand
 * a batch's texts to the main thread as bytes: a store that writes the bytes as they are (SQLite
 * binds them; PostgreSQL copies them into its packed parameter) never builds a thousand strings
 * on the main thread, nor encodes them back to UTF-8.
 */
import type { InboxEventInput, SuppressionEffect } from "./store.js";

/** The text of UTF-8 bytes (without copying them into a Buffer first). */
export function utf8Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** The fields of an event besides its text (see {@link InboxEventInput}). */
export interface InboxEventFields {
  key: string;
  type: string;
  email: string | null;
  messageId: string | null;
  eventAt: number | null;
  effects: readonly SuppressionEffect[];
  state: "pending" | "done";
}

/**
 * An {@link InboxEventInput} given by its UTF-8 bytes: `raw` is their text, decoded on first read
 * and kept. The bytes must stay unchanged while the event is in use.
 */
export class Utf8InboxEvent implements InboxEventInput {
  readonly key: string;
  readonly type: string;
  readonly email: string | null;
  readonly messageId: string | null;
  readonly eventAt: number | null;
  readonly effects: readonly SuppressionEffect[];
  readonly state: "pending" | "done";
  readonly rawUtf8: Uint8Array;

  constructor(fields: InboxEventFields, rawUtf8: Uint8Array) {
    this.key = fields.key;
    this.type = fields.type;
    this.email = fields.email;
    this.messageId = fields.messageId;
    this.eventAt = fields.eventAt;
    this.effects = fields.effects;
    this.state = fields.state;
    this.rawUtf8 = rawUtf8;
  }

  /** The text, decoded on first read and then kept as the instance's own `raw`. */
  get raw(): string {
    const raw = utf8Text(this.rawUtf8);
    Object.defineProperty(this, "raw", { value: raw, enumerable: true });
    return raw;
  }

  /** As a plain object (`raw` included), the way `JSON.stringify` and logs should see it. */
  toJSON(): Omit<InboxEventInput, "rawUtf8"> {
    const { key, type, email, messageId, eventAt, effects, state, raw } = this;
    return { key, type, email, messageId, eventAt, effects, state, raw };
  }
}
