/**
 * Plain-language meaning of Mandrill's error names (docs/mandrill.md#api-errors and docs/mandrill.md#troubleshooting) — what the admin should do.
 */
const HINTS: Record<string, string> = {
  Invalid_Key:
    "The API key is wrong, deleted or inactive — or Mandrill refuses it from this server's IP address (Settings → Account security → IP access). Copy an active key from Mandrill (Settings → SMTP & API Info) and save it again.",
  ValidationError:
    "Mandrill refused the request as invalid (for example a malformed From address or a missing field). Check the message and the From address.",
  PaymentRequired:
    "This needs a positive balance on the Mandrill account (scheduled sending, paid features). Add credit in Mandrill or send without send_at.",
  Unknown_Subaccount:
    "The subaccount in the settings does not exist in Mandrill. Create it there or clear the subaccount field.",
  Unknown_Template:
    "The template name does not exist in this Mandrill account (names are case-sensitive). Check Mandrill → Templates.",
  Invalid_Template: "The template name is invalid or already in use.",
  Unknown_Message: "Mandrill has no message with that id (it may be older than Mandrill keeps).",
  Unknown_Sender: "Mandrill does not know that sender address.",
  Unknown_Webhook: "The webhook id does not exist in Mandrill any more.",
  Unknown_Pool: "The IP pool does not exist; Mandrill uses the default pool.",
  ServiceUnavailable:
    "Mandrill is temporarily unavailable (maintenance). The kit retries; try again in a few minutes.",
  GeneralError:
    "Mandrill had an internal error. The kit retries; if it persists, check status.mailchimp.com.",
  RequestLimitExceeded: "Too many requests to Mandrill recently. The kit backs off and retries.",
  Invalid_Reject: "That address is not on Mandrill's denylist.",
  Metadata_FieldLimit: "Mandrill's limit of indexed metadata fields is reached; use fewer metadata keys.",
};

/** The hint for a Mandrill error name (a generic one for names the kit does not know). */
export function hintFor(name: string): string {
  return (
    HINTS[name] ??
    `Mandrill reported "${name}". See Mandrill's API logs (Settings → API Logs) for the full request and answer.`
  );
}

/** Plain-language advice for a sender-side reject reason. */
export function senderSideAdvice(reason: string | null): string {
  switch (reason) {
    case "unsigned":
      return "the From domain is not verified in Mandrill, or lacks DKIM/SPF. Add and verify it under Mandrill → Settings → Domains.";
    case "invalid-sender":
      return "Mandrill does not accept this From address. Use an address on a verified sending domain.";
    case "test-mode-limit":
      return "the account is in test mode or over its test limit. Use a production API key.";
    case "recipient-domain-mismatch":
      return "a trial/demo Mandrill account can only send to its own verified domain. Upgrade the account or send to that domain.";
    case "rule":
      return "a Mandrill rule rejected the message. Check Mandrill → Settings → Rules.";
    case "custom":
      return "the address is on the account's manual denylist in Mandrill.";
    default:
      return "see Mandrill's activity log for this message.";
  }
}
