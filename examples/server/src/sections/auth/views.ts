import { html, type SafeHtml } from "../../views/html.js";

/** The login form: the admin token, with the login form's own CSRF token (there is no session yet). */
export function loginView(csrfToken: string, error?: string): SafeHtml {
  return html`${error === undefined ? "" : html`<p class="flash flash-error" role="alert">${error}</p>`}
<form method="post" action="/login" class="card">
<input type="hidden" name="_csrf" value="${csrfToken}">
<p><label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required aria-describedby="token-help"></p>
<p id="token-help" class="help">The <code>ADMIN_TOKEN</code> the server was started with (printed at start when generated).</p>
<p><button type="submit">Log in</button></p>
</form>`;
}
