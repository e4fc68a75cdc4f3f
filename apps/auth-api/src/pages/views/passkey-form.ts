import { escapeHtml } from '../html.js';

/** The pages' one script: it runs the ceremony of every `<form data-passkey>`. */
export const PASSKEY_SCRIPT_PATH = '/assets/passkey.js';

export interface PasskeyFormView {
  /** `sign-in`: passwordless; `second-step`: after the password, for `mfaToken`. */
  readonly kind: 'sign-in' | 'second-step';
  readonly action: string;
  readonly label: string;
  readonly interaction: string | undefined;
  readonly deviceCode: string | undefined;
  readonly mfaToken?: string;
}

/**
 * A form the script submits once the authenticator has answered: the serialised credential in
 * `credential`, and the same hidden fields as the page's other form (where the sign-in goes on).
 * Its button stays hidden where the script does not run or WebAuthn is missing.
 */
export function passkeyForm({
  kind,
  action,
  label,
  interaction,
  deviceCode,
  mfaToken,
}: PasskeyFormView): string {
  return `<form method="post" action="${escapeHtml(action)}" data-passkey="${kind}" data-status="passkey-status">
${mfaToken !== undefined ? `<input type="hidden" name="mfa_token" value="${escapeHtml(mfaToken)}">` : ''}
${interaction !== undefined ? `<input type="hidden" name="interaction" value="${escapeHtml(interaction)}">` : ''}
${deviceCode !== undefined ? `<input type="hidden" name="device" value="${escapeHtml(deviceCode)}">` : ''}
<input type="hidden" name="credential" value="">
<button type="button" hidden>${escapeHtml(label)}</button>
</form>
<p id="passkey-status" class="error" role="alert" hidden></p>`;
}
