import { MandrillKitNotFoundError, MandrillKitValidationError } from "@mandrill-kit/core";
import type { SettingsDescription } from "@mandrill-kit/credentials";
import { Router } from "express";
import type { AppDeps } from "../../deps.js";
import { accountParam, bodyOf } from "../json.js";

/** The JSON view of an account's settings: the field names, secrets masked, plus the Callback URL. */
export function settingsJson(d: SettingsDescription) {
  return {
    account: d.account,
    version: d.version,
    transport: d.transport,
    host: d.host,
    port: d.port,
    username: d.username,
    apiKey: d.apiKey,
    fromEmail: d.fromEmail,
    fromName: d.fromName,
    replyTo: d.replyTo,
    subaccount: d.subaccount,
    webhookKey: d.webhookKeys.find((k) => k.current)?.masked ?? null,
    webhookKeys: d.webhookKeys,
    unsubscribeMode: d.unsubscribeMode,
    callbackUrl: d.callbackUrl,
    lastVerification: d.lastVerification,
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

/** `GET`/`PUT /api/accounts/:account/mandrill` and `POST …/test-email`. */
export function settingsApi(deps: AppDeps): Router {
  const { credentials } = deps;
  const router = Router();

  router.get("/accounts/:account/mandrill", async (req, res) => {
    const d = await credentials.describe(accountParam(req));
    if (d === undefined)
      throw new MandrillKitNotFoundError(`Account "${req.params.account}" has no Mandrill settings yet.`);
    res.json(settingsJson(d));
  });

  router.put("/accounts/:account/mandrill", async (req, res) => {
    const id = accountParam(req);
    const existed = (await credentials.describe(id)) !== undefined;
    const { expectedVersion, ...input } = bodyOf(req);
    const saved = await credentials.save(
      id,
      input,
      typeof expectedVersion === "number" ? { expectedVersion } : {},
    );
    res.status(existed ? 200 : 201).json(settingsJson(saved));
  });

  router.post(
    "/accounts/:account/test-email",
    deps.limits.testEmail,
    deps.limits.testEmailRecipient,
    async (req, res) => {
      const id = accountParam(req);
      const to = bodyOf(req).to;
      if (typeof to !== "string" || to.trim() === "") {
        throw new MandrillKitValidationError(
          "ERR_MK_VALIDATION_FAILED",
          "Say where to send the test email.",
          [{ field: "to", message: "must be an email address" }],
        );
      }
      res.json(await deps.sender.sendTestEmail(id, to.trim()));
    },
  );
  return router;
}
