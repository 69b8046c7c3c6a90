import { MandrillKitCryptoError } from "@mandrill-kit/core";
import jose from "node-jose";
import type { KeyRing } from "./key-ring.js";

/** Protected-header members that bind a ciphertext to its account and field (checked on every read). */
const ACCOUNT_MEMBER = "mk.account";
const FIELD_MEMBER = "mk.field";
const ALLOWED_HEADER = new Set(["alg", "enc", "kid", ACCOUNT_MEMBER, FIELD_MEMBER]);
const MAX_JWE_LENGTH = 64 * 1024;
const B64URL = /^[A-Za-z0-9_-]*$/;

function canonical(part: string): Buffer | undefined {
  if (!B64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, "base64url");
  // Reject non-canonical encodings (unused trailing bits set): one ciphertext has one spelling.
  return bytes.toString("base64url") === part ? bytes : undefined;
}

function malformed(where: string, account: string, field: string): MandrillKitCryptoError {
  return new MandrillKitCryptoError(
    "ERR_MK_CRYPTO_MALFORMED",
    `The stored ${field} of account "${account}" is not a JWE written by mandrill-kit (${where}). Save it again.`,
  );
}

/** The protected header of a compact JWE, after strict checks; throws `MandrillKitCryptoError`. */
export function readHeader(
  jwe: string,
  account: string,
  field: string,
): { kid: string; header: Record<string, unknown> } {
  if (typeof jwe !== "string" || jwe.length > MAX_JWE_LENGTH)
    throw malformed("not a string of sane length", account, field);
  const parts = jwe.split(".");
  if (parts.length !== 5) throw malformed("not five compact parts", account, field);
  const [h, ek, iv, ct, tag] = parts.map(canonical);
  if (h === undefined || ek === undefined || iv === undefined || ct === undefined || tag === undefined) {
    throw malformed("a part is not canonical base64url", account, field);
  }
  if (ek.length !== 40 || iv.length !== 12 || tag.length !== 16)
    throw malformed("wrong key, IV or tag length", account, field);
  let header: unknown;
  try {
    header = JSON.parse(h.toString("utf8"));
  } catch {
    throw malformed("header is not JSON", account, field);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    throw malformed("header is not an object", account, field);
  const members = header as Record<string, unknown>;
  for (const name of Object.keys(members)) {
    if (!ALLOWED_HEADER.has(name))
      throw malformed(`header member "${name.slice(0, 32)}" is not allowed`, account, field);
  }
  if (members.alg !== "A256KW" || members.enc !== "A256GCM")
    throw malformed("only A256KW with A256GCM is accepted", account, field);
  if (typeof members.kid !== "string") throw malformed("header has no kid", account, field);
  return { kid: members.kid, header: members };
}

/** Encrypts one secret for `account`/`field` under the ring's active key (fresh CEK and IV each time). */
export async function encryptSecret(
  ring: KeyRing,
  account: string,
  field: string,
  plaintext: string,
): Promise<string> {
  return jose.JWE.createEncrypt(
    {
      format: "compact",
      contentAlg: "A256GCM",
      fields: { alg: "A256KW", kid: ring.active.kid, [ACCOUNT_MEMBER]: account, [FIELD_MEMBER]: field },
    },
    ring.active.key,
  )
    .update(Buffer.from(plaintext, "utf8"))
    .final() as unknown as Promise<string>;
}

/**
 * Decrypts a secret written by {@link encryptSecret} for exactly this `account` and `field`, with the
 * key its `kid` names (no trial decryption), accepting only A256KW + A256GCM and no compression.
 */
export async function decryptSecret(
  ring: KeyRing,
  account: string,
  field: string,
  jwe: string,
): Promise<string> {
  const { kid, header } = readHeader(jwe, account, field);
  const ringKey = ring.find(kid);
  if (ringKey === undefined) {
    throw new MandrillKitCryptoError(
      "ERR_MK_CRYPTO_UNKNOWN_KEY",
      `The stored ${field} of account "${account}" was encrypted with key "${kid.slice(0, 64)}", which is not in the configured key set (${ring.kids.join(", ")}). Add that key back (decrypt-only) and run \`mandrill-kit keys rotate\`.`,
    );
  }
  if (header[ACCOUNT_MEMBER] !== account || header[FIELD_MEMBER] !== field) {
    throw new MandrillKitCryptoError(
      "ERR_MK_CRYPTO_WRONG_BINDING",
      `The stored ${field} of account "${account}" was encrypted for another account or field: a ciphertext was copied between rows.`,
    );
  }
  try {
    // node-jose's own allow-list as a second line (its typings omit the options argument).
    const decryptor = jose.JWE.createDecrypt(ringKey.key) as unknown as {
      decrypt(input: string, opts: { algorithms: string[] }): Promise<{ payload: Buffer }>;
    };
    const result = await decryptor.decrypt(jwe, { algorithms: ["A256KW", "A256GCM"] });
    return result.payload.toString("utf8");
  } catch (error) {
    throw new MandrillKitCryptoError(
      "ERR_MK_CRYPTO_DECRYPT_FAILED",
      `The stored ${field} of account "${account}" failed authenticated decryption with key "${kid}": it was altered, or that key is not the one that wrote it.`,
      { cause: error instanceof Error ? new Error(error.message) : undefined },
    );
  }
}

/** The `kid` a stored secret was encrypted with (no decryption). */
export function keyIdOf(jwe: string, account: string, field: string): string {
  return readHeader(jwe, account, field).kid;
}
