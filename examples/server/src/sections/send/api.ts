import { errorResponse, MandrillKitSendError, MandrillKitValidationError } from "@mandrill-kit/core";
import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountParam, bodyOf } from "../json.js";
import { MAX_RECIPIENTS, parseRecipients, recipientsView } from "./message.js";

function messageFields(body: Record<string, unknown>, recipients: number) {
  const fields = [];
  if (recipients === 0) fields.push({ field: "to", message: "must name at least one recipient" });
  if (recipients > MAX_RECIPIENTS)
    fields.push({ field: "to", message: `must name at most ${MAX_RECIPIENTS} recipients` });
  if (typeof body.subject !== "string" || body.subject.trim() === "")
    fields.push({ field: "subject", message: "must not be empty" });
  if (body.text !== undefined && typeof body.text !== "string")
    fields.push({ field: "text", message: "must be text" });
  if (body.html !== undefined && typeof body.html !== "string")
    fields.push({ field: "html", message: "must be text" });
  return fields;
}

/** `POST /api/accounts/:account/send`: one status per recipient. */
export function sendApi(deps: AppDeps): Router {
  const router = Router();
  router.post("/accounts/:account/send", deps.limits.send, async (req, res) => {
    const id = accountParam(req);
    const body = bodyOf(req);
    const to = parseRecipients(body.to);
    const fields = messageFields(body, to.length);
    if (fields.length > 0)
      throw new MandrillKitValidationError("ERR_MK_VALIDATION_FAILED", "The message is not valid.", fields);
    try {
      const result = await deps.sender.send(id, {
        to,
        subject: body.subject as string,
        ...(typeof body.text === "string" ? { text: body.text } : {}),
        ...(typeof body.html === "string" ? { html: body.html } : {}),
        ...(body.text === undefined && body.html === undefined ? { text: body.subject as string } : {}),
      });
      res.json({
        transport: result.transport,
        correlationId: result.correlationId,
        recipients: recipientsView(result),
      });
    } catch (error) {
      if (!(error instanceof MandrillKitSendError)) throw error;
      const { status, body: errorBody } = errorResponse(error);
      res.status(status).json({ ...errorBody, recipients: recipientsView(error.result) });
    }
  });
  return router;
}
