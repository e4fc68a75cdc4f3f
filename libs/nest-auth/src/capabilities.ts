/** What each role may do. Capabilities are `resource:action`; apps extend the map through options. */
export type CapabilityMap = Readonly<Record<string, readonly string[]>>;

export const ADMIN_ROLE = 'admin';

/**
 * The roles Gatehouse ships with: `admin` may do everything, `support` reads and ends sessions and
 * reads the audit log and the mail log.
 */
export const DEFAULT_CAPABILITIES: CapabilityMap = {
  [ADMIN_ROLE]: [
    'sessions:read',
    'sessions:revoke',
    'users:manage',
    'clients:manage',
    'keys:manage',
    'audit:read',
    'mail:read',
    'mail:manage',
    'providers:manage',
    'webhooks:manage',
  ],
  support: ['sessions:read', 'sessions:revoke', 'audit:read', 'mail:read'],
};

/** Merges an app's map into the defaults: a role listed in both gets the union of capabilities. */
export function mergeCapabilities(base: CapabilityMap, extra: CapabilityMap = {}): CapabilityMap {
  const merged: Record<string, readonly string[]> = { ...base };
  for (const [role, capabilities] of Object.entries(extra)) {
    merged[role] = [...new Set([...(merged[role] ?? []), ...capabilities])];
  }
  return merged;
}

export function capabilitiesOf(roles: readonly string[], map: CapabilityMap): ReadonlySet<string> {
  return new Set(roles.flatMap((role) => map[role] ?? []));
}
