import { MandrillKitError } from "@mandrill-kit/core";

/** Fixed answers to body-parser's errors, by their `type`. */
const MESSAGES: Record<string, string> = {
  "entity.parse.failed": "The body could not be parsed: send valid JSON.",
  "entity.too.large": "The body is too large.",
  "charset.unsupported": "The body's charset is not supported: send UTF-8.",
  "encoding.unsupported": "The body's Content-Encoding is not supported.",
  "parameters.too.many": "The form has too many fields.",
  "request.aborted": "The request was aborted before its body was read.",
  "request.size.invalid": "The body's length does not match its Content-Length.",
};

/**
 * A client error raised before a route ran (body-parser, a malformed URL): its status and a fixed
 * sentence. The error's own message is never used, because it can quote the request (a JSON syntax
 * error quotes the body, which may hold a secret).
 */
export function clientError(error: unknown): { status: number; message: string } | undefined {
  if (error instanceof MandrillKitError) return undefined;
  const { status, type } = error as { status?: unknown; type?: unknown };
  if (typeof status !== "number" || status < 400 || status >= 500) return undefined;
  return {
    status,
    message: (typeof type === "string" ? MESSAGES[type] : undefined) ?? "The request could not be read.",
  };
}
