import { escapeHtml, type Page } from '../html.js';

export interface ConsentView {
  readonly clientName: string;
  /** The scopes the client asks the user to approve. */
  readonly scopes: readonly string[];
  /** The sealed authorization request the decision is for. */
  readonly interaction: string;
}

export function consentPage({ clientName, scopes, interaction }: ConsentView): Page {
  const list =
    scopes.length > 0
      ? `<ul class="scopes">${scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('')}</ul>`
      : '<p>Only to know who you are.</p>';
  return {
    title: `Allow ${clientName}?`,
    main: `<p><strong>${escapeHtml(clientName)}</strong> asks for access to your account:</p>
${list}
<form method="post" action="/oauth/authorize/consent">
<input type="hidden" name="interaction" value="${escapeHtml(interaction)}">
<div class="actions">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
  };
}
