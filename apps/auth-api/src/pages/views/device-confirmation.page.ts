import { escapeHtml, type Page } from '../html.js';

export interface DeviceConfirmationView {
  readonly clientName: string;
  /** The code, formatted as the device shows it. */
  readonly userCode: string;
  readonly scopes: readonly string[];
}

/** RFC 8628 §5.4: the user must check the code against their device (remote phishing). */
export function deviceConfirmationPage({
  clientName,
  userCode,
  scopes,
}: DeviceConfirmationView): Page {
  const asks =
    scopes.length > 0
      ? `<p>It asks for:</p><ul class="scopes">${scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('')}</ul>`
      : '';
  return {
    title: `Sign in ${clientName}?`,
    main: `<p><strong>${escapeHtml(clientName)}</strong> wants to sign in to your account on a device.</p>
<p>Check that your device shows this code: <strong class="code">${escapeHtml(userCode)}</strong></p>
${asks}
<p>Only allow it if you started this on a device of your own just now.</p>
<form method="post" action="/device/decision">
<input type="hidden" name="user_code" value="${escapeHtml(userCode)}">
<div class="actions">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
  };
}
