import { escapeHtml } from '../html.js';

export interface FederatedProviderLink {
  readonly slug: string;
  readonly displayName: string;
}

/**
 * "Continue with …": one link per enabled upstream provider, carrying where the sign-in goes on
 * (links, not forms: the form-action policy would stop the redirect to the provider's origin).
 */
export function federatedSignInLinks(
  providers: readonly FederatedProviderLink[],
  interaction: string | undefined,
  deviceCode: string | undefined,
): string {
  if (providers.length === 0) {
    return '';
  }
  const query = new URLSearchParams();
  if (interaction !== undefined) {
    query.set('interaction', interaction);
  }
  if (deviceCode !== undefined) {
    query.set('device', deviceCode);
  }
  const suffix = query.size > 0 ? `?${query.toString()}` : '';
  const links = providers.map(
    ({ slug, displayName }) =>
      `<li><a class="federated" href="/federation/${encodeURIComponent(slug)}/start${escapeHtml(suffix)}">Continue with ${escapeHtml(displayName)}</a></li>`,
  );
  return `<ul class="federated">\n${links.join('\n')}\n</ul>`;
}
