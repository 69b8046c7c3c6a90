import { MandrillKitValidationError, requireAccountId } from "@mandrill-kit/core";
import type { Request } from "express";

/** The `:account` of an API route, checked (`ERR_MK_ACCOUNT_INVALID`, 400, when it is not an id). */
export function accountParam(req: Request): string {
  return requireAccountId(req.params.account);
}

/** The JSON body as an object, or `ERR_MK_VALIDATION_FAILED` (422). */
export function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new MandrillKitValidationError(
      "ERR_MK_VALIDATION_FAILED",
      "Send a JSON object (Content-Type: application/json).",
      [{ field: "", message: "must be a JSON object" }],
    );
  }
  return body as Record<string, unknown>;
}

/** `?limit=` for a list: a positive whole number up to `max`, else `fallback`. */
export function limitParam(req: Request, fallback: number, max = 1000): number {
  return Math.min(Number(req.query.limit) || fallback, max);
}

/** `?after=` cursor of a list, or `null`. */
export function afterParam(req: Request): string | null {
  return typeof req.query.after === "string" ? req.query.after : null;
}
