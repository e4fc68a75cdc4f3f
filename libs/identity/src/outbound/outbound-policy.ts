import { BlockList, isIP } from 'node:net';

/** What `OUTBOUND_ALLOW_PRIVATE` and the run mode allow (the `outbound` section of the config fits). */
export interface OutboundPolicy {
  /** Private, CGNAT, loopback and unspecified targets allowed (development and tests). */
  readonly allowPrivate: boolean;
  /** Only https:// URLs (production). */
  readonly httpsOnly: boolean;
}

export type OutboundRefusalReason =
  | 'invalid_url'
  | 'scheme'
  | 'https_required'
  | 'credentials'
  | 'private_address'
  | 'link_local'
  | 'metadata'
  | 'reserved'
  | 'unresolvable';

/** Why an outbound URL or address may not be called; the message is safe to show to an operator. */
export interface OutboundRefusal {
  readonly reason: OutboundRefusalReason;
  readonly message: string;
}

type AddressClass =
  'public' | 'private' | 'loopback' | 'unspecified' | 'link_local' | 'metadata' | 'reserved';

function blockList(entries: readonly (readonly [string, number, 'ipv4' | 'ipv6'])[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of entries) {
    list.addSubnet(network, prefix, family);
  }
  return list;
}

// Cloud metadata services: AWS/GCP/Azure/OpenStack (169.254.169.254), AWS over IPv6, Alibaba.
const metadata = new Set(['169.254.169.254', 'fd00:ec2:0:0:0:0:0:254', '100.100.100.200']);

const ranges: readonly (readonly [AddressClass, BlockList])[] = [
  [
    'unspecified',
    blockList([
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ]),
  ],
  [
    'loopback',
    blockList([
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ]),
  ],
  [
    'link_local',
    blockList([
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ]),
  ],
  [
    'private',
    blockList([
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['100.64.0.0', 10, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ]),
  ],
  [
    'reserved',
    blockList([
      ['224.0.0.0', 4, 'ipv4'], // multicast
      ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
      ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
      ['198.18.0.0', 15, 'ipv4'], // benchmarking
      ['ff00::', 8, 'ipv6'], // multicast
      ['fec0::', 10, 'ipv6'], // deprecated site-local
      ['100::', 64, 'ipv6'], // discard-only
    ]),
  ],
];

/** Eight 16-bit groups of an IPv6 address (any textual form, a trailing dotted quad included). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const bytes = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) =>
    part ? part.split(':').map((group) => parseInt(group, 16)) : [];
  const left = parse(head);
  const right = parse(tail);
  const middle =
    tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...middle, ...right];
}

const dottedQuad = (high: number, low: number) =>
  [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');

/**
 * The IPv4 address an IPv6 address carries, when it is one of the forms that reach an IPv4 host:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 */
function embeddedIpv4(groups: readonly number[]): string | undefined {
  const zero = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  if (zero(0, 5) && groups[5] === 0xffff) {
    return dottedQuad(groups[6]!, groups[7]!);
  }
  if (zero(0, 6) && (groups[6] !== 0 || groups[7]! > 1)) {
    return dottedQuad(groups[6]!, groups[7]!);
  }
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6)) {
    return dottedQuad(groups[6]!, groups[7]!);
  }
  if (groups[0] === 0x2002) {
    return dottedQuad(groups[1]!, groups[2]!);
  }
  return undefined;
}

/** Where an IP address points: the public internet, or one of the ranges the guard cares about. */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address);
  if (family === 4) {
    if (metadata.has(address)) {
      return 'metadata';
    }
    return ranges.find(([, list]) => list.check(address, 'ipv4'))?.[0] ?? 'public';
  }
  if (family === 6) {
    const groups = ipv6Groups(address);
    const ipv4 = embeddedIpv4(groups);
    if (ipv4 !== undefined) {
      return classifyAddress(ipv4);
    }
    const canonical = groups.map((group) => group.toString(16)).join(':');
    if (metadata.has(canonical)) {
      return 'metadata';
    }
    return ranges.find(([, list]) => list.check(address.split('%')[0]!, 'ipv6'))?.[0] ?? 'public';
  }
  return 'reserved';
}

/** Null when the policy lets a connection go to this address, else why not. */
export function checkOutboundAddress(
  address: string,
  policy: OutboundPolicy,
): OutboundRefusal | null {
  switch (classifyAddress(address)) {
    case 'public':
      return null;
    case 'metadata':
      return { reason: 'metadata', message: `${address} is a cloud metadata address.` };
    case 'link_local':
      return { reason: 'link_local', message: `${address} is a link-local address.` };
    case 'reserved':
      return { reason: 'reserved', message: `${address} is a reserved or multicast address.` };
    case 'private':
    case 'loopback':
    case 'unspecified':
      return policy.allowPrivate
        ? null
        : {
            reason: 'private_address',
            message: `${address} is a private, loopback or unspecified address (OUTBOUND_ALLOW_PRIVATE is off).`,
          };
  }
}

/** The host of a URL without IPv6 brackets or a trailing root dot. */
export function bareHost(url: URL): string {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * The check made when an outbound URL is registered (and again before every call): an absolute
 * http(s) URL without credentials, https in production, and — when the host is an IP literal, in any
 * spelling WHATWG URL normalises (decimal, hex, octal IPv4; IPv4-mapped IPv6…) — an address the policy
 * allows. `localhost` and `*.localhost` count as loopback. Names are resolved, and each address checked,
 * by `OutboundHttp` at call time.
 */
export function checkOutboundUrl(raw: string, policy: OutboundPolicy): OutboundRefusal | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { reason: 'invalid_url', message: 'The URL is not an absolute URL.' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { reason: 'scheme', message: 'Only http and https URLs are allowed.' };
  }
  if (policy.httpsOnly && url.protocol !== 'https:') {
    return { reason: 'https_required', message: 'Only https URLs are allowed in production.' };
  }
  if (url.username !== '' || url.password !== '') {
    return { reason: 'credentials', message: 'The URL must not carry a user name or password.' };
  }
  const host = bareHost(url).toLowerCase();
  if (host === '') {
    return { reason: 'invalid_url', message: 'The URL has no host.' };
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return policy.allowPrivate
      ? null
      : {
          reason: 'private_address',
          message: `${host} is a loopback name (OUTBOUND_ALLOW_PRIVATE is off).`,
        };
  }
  return isIP(host) ? checkOutboundAddress(host, policy) : null;
}
