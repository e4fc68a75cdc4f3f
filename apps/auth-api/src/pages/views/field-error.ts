import { escapeHtml } from '../html.js';

/**
 * An error message tied to its field (WCAG 3.3.1): announced (role=alert), and read with the field
 * (aria-describedby names it before the field's own hint).
 */
export function fieldError(
  id: string,
  message: string | null,
  hint?: string,
): { alert: string; attributes: string } {
  const describedBy = [message ? id : null, hint].filter(Boolean).join(' ');
  return {
    alert: message ? `<p class="error" role="alert" id="${id}">${escapeHtml(message)}</p>` : '',
    attributes:
      (message ? ' aria-invalid="true"' : '') +
      (describedBy ? ` aria-describedby="${describedBy}"` : ''),
  };
}
