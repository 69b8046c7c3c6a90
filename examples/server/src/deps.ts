import type { Store } from "@mandrill-kit/core";
import type { ComponentLogger } from "@mandrill-kit/core/plugin";
import type { CredentialsService } from "@mandrill-kit/credentials";
import type { Sender } from "@mandrill-kit/sender";
import type { MandrillWebhooks } from "@mandrill-kit/webhooks";
import type { LoginCsrf } from "./security/login-csrf.js";
import type { Limiter } from "./security/rate-limit.js";
import type { Sessions } from "./security/session.js";

/** What the page and API routes of every section share (built once by `createApp`). */
export interface AppDeps {
  store: Store;
  credentials: CredentialsService;
  sender: Sender;
  webhooks: MandrillWebhooks;
  /** `true` when the app talks to the in-process simulator rather than Mandrill. */
  simulator: boolean;
  /** Where Mandrill reaches this app (`PUBLIC_URL`). */
  publicUrl: string;
  adminToken: string;
  sessions: Sessions;
  loginCsrf: LoginCsrf;
  limits: {
    /** Wrong tokens on the login form, per client address. */
    loginFailures: Limiter;
    /** Wrong bearer tokens on the JSON API, per client address. */
    apiFailures: Limiter;
    /** Test emails per client address and account (page and API share it). */
    testEmail: Limiter;
    /** Test emails per recipient, across accounts (page and API share it). */
    testEmailRecipient: Limiter;
    /** Demo sends per client address (page and API share it). */
    send: Limiter;
  };
  log: ComponentLogger;
}
