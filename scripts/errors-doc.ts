/**
 * Writes docs/errors.md from ERROR_CODES (`pnpm docs:errors`). A test fails when the file is stale.
 */
import { writeFileSync } from "node:fs";
import { ERROR_CODES } from "@mandrill-kit/core";

export function renderErrorsDoc(): string {
  let out = `# Error codes

Every error mandrill-kit throws is a \`MandrillKitError\` (or a subclass) with a stable \`code\`.
Switch on \`error.code\`, never on the message. Messages quote the offending value (secrets masked to
their last 4 characters) and say the fix; \`error.advice\` returns the advice below. Kit routers answer
with \`{ "error": { "code", "message", "fields"? } }\`.

| class | thrown when |
| --- | --- |
| \`MandrillKitConfigError\` | a factory option is wrong — synchronously, at start (\`option\` names it) |
| \`MandrillKitValidationError\` | input from a person or caller is invalid (\`fields\` lists each problem; HTTP 422) |
| \`MandrillKitPayloadError\` | a webhook body cannot be read as Mandrill events |
| \`MandrillKitStoreError\` | the storage backend failed or was misused (a stale write is HTTP 409) |
| \`MandrillKitCryptoError\` | a stored secret cannot be decrypted (never carries key material or plaintext) |
| \`MandrillKitApiError\` | Mandrill answered with an error: \`mandrillName\`, \`status\`, plain-language \`hint\`, \`retryable\` |
| \`MandrillKitTransportError\` | Mandrill could not be reached or did not answer (\`retryable\` says whether the request provably did not reach it) |
| \`MandrillKitSendError\` | Mandrill rejected every recipient of a send (\`result\` has each recipient's reason) |
| \`MandrillKitNotConfiguredError\` | the account has no settings, or lacks an API key or webhook key |
| \`MandrillKitForbiddenError\` | the host's authorisation hook refused the request (HTTP 403) |
| \`MandrillKitNotFoundError\` | the named account, record or event does not exist (HTTP 404) |

`;
  for (const [code, v] of Object.entries(ERROR_CODES))
    out += `## ${code}\n\n${v.summary}\n\n**Fix:** ${v.advice}\n\n`;
  return out;
}

if (process.argv[1]?.endsWith("errors-doc.ts")) {
  writeFileSync(new URL("../docs/errors.md", import.meta.url), renderErrorsDoc());
  process.stdout.write("Wrote docs/errors.md\n");
}
