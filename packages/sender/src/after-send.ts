import type {
  MandrillSettings,
  SendResult,
  Store,
  SuppressionAddResult,
  SuppressionInput,
  SuppressionPolicy,
} from "@mandrill-kit/core";
import type { ComponentLogger, Telemetry } from "@mandrill-kit/core/plugin";
import { rejectSuppression, suppressionChanges } from "@mandrill-kit/core/plugin";
import { senderSideAdvice } from "./api-hints.js";
import type { ResolvedRecipient } from "./message.js";
import type { RecordQueue } from "./record-queue.js";

/** What happens after a send, for every recipient: suppress recipient-side rejects, record the send. */
export interface AfterSend {
  store: Store;
  log: ComponentLogger;
  policy: SuppressionPolicy;
  records: RecordQueue;
  telemetry?: Telemetry;
}

function countAdded(telemetry: Telemetry, account: string, added: readonly SuppressionAddResult[]): void {
  for (const { status, suppression } of added) {
    if (status === "unchanged") continue;
    suppressionChanges(telemetry).add(1, {
      ...telemetry.account(account),
      "mandrill_kit.suppression.change": status,
      "mandrill_kit.suppression.reason": suppression.reason,
      "mandrill_kit.suppression.source": suppression.source,
    });
  }
}

/**
 * Adds recipient-side rejects to the suppression list (before `send()` resolves: the next send to
 * these addresses must already find them), logs sender-side rejects as configuration problems, and
 * queues the send records (written just after, grouped).
 */
export async function afterSend(
  deps: AfterSend,
  settings: MandrillSettings,
  sendResult: SendResult,
  recipients: readonly ResolvedRecipient[],
  subject: string | null,
  now: number,
): Promise<void> {
  const toSuppress: SuppressionInput[] = [];
  for (const [i, r] of sendResult.recipients.entries()) {
    if (r.status !== "rejected" && r.status !== "invalid") continue;
    const email = (recipients[i] as ResolvedRecipient).normalized;
    const detail = `rejected by Mandrill: ${r.rejectReason}`;
    const effect = rejectSuppression(email, r.rejectReason, "send-result", now, deps.policy, detail);
    if (effect !== undefined) {
      const { reason, source, expiresAt } = effect;
      toSuppress.push({
        account: settings.account,
        email,
        reason,
        source,
        detail: effect.detail,
        expiresAt,
        at: now,
      });
    } else if (r.rejectSide === "sender") {
      deps.log.warn(
        { account: settings.account, rejectReason: r.rejectReason },
        `configuration problem: Mandrill rejected a recipient for "${r.rejectReason}" — ${senderSideAdvice(r.rejectReason)}`,
      );
    }
  }
  if (toSuppress.length > 0) {
    try {
      const added = await deps.store.suppressions.addMany(toSuppress);
      if (deps.telemetry !== undefined) countAdded(deps.telemetry, settings.account, added);
    } catch (error) {
      // The mail already left: report, never turn a delivered send into an error.
      deps.log.error(
        { account: settings.account, correlationId: sendResult.correlationId, err: error },
        "could not add the rejected recipients to the suppression list",
      );
    }
  }
  await deps.records.add(
    sendResult.recipients.map((r, i) => ({
      account: settings.account,
      email: (recipients[i] as ResolvedRecipient).normalized,
      status: r.status,
      messageId: r.messageId,
      rejectReason: r.rejectReason,
      transport: settings.transport,
      correlationId: sendResult.correlationId,
      subject,
      at: now,
    })),
  );
}
