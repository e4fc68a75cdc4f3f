import { describe, expect, it } from 'vitest';

import { checkOutboundUrl, classifyAddress, type OutboundPolicy } from './outbound-policy.js';

const strict: OutboundPolicy = { allowPrivate: false, httpsOnly: false };
const permissive: OutboundPolicy = { allowPrivate: true, httpsOnly: false };
const production: OutboundPolicy = { allowPrivate: false, httpsOnly: true };

const reason = (url: string, policy = strict) => checkOutboundUrl(url, policy)?.reason ?? null;

describe('checkOutboundUrl', () => {
  it('accepts public http and https URLs (http outside production only)', () => {
    expect(reason('https://hooks.example.com/in')).toBeNull();
    expect(reason('http://hooks.example.com:8080/in?x=1')).toBeNull();
    expect(reason('http://93.184.216.34/')).toBeNull();
    expect(reason('https://[2606:2800:220:1::248]/')).toBeNull();
    expect(reason('https://hooks.example.com/', production)).toBeNull();
    expect(reason('http://hooks.example.com/', production)).toBe('https_required');
  });

  it('refuses what is not an absolute http(s) URL, and URLs with credentials', () => {
    expect(reason('/relative')).toBe('invalid_url');
    expect(reason('not a url')).toBe('invalid_url');
    expect(reason('ftp://example.com/')).toBe('scheme');
    expect(reason('file:///etc/passwd')).toBe('scheme');
    expect(reason('javascript:alert(1)')).toBe('scheme');
    expect(reason('https://user:pass@example.com/')).toBe('credentials');
    expect(reason('https://user@example.com/')).toBe('credentials');
  });

  it.each([
    ['http://10.0.0.1/'],
    ['http://10.255.255.255/'],
    ['http://172.16.0.1/'],
    ['http://172.31.255.254/'],
    ['http://192.168.1.1/'],
    ['http://100.64.0.1/'],
    ['http://100.127.255.254/'],
    ['http://127.0.0.1:8080/'],
    ['http://127.1.2.3/'],
    ['http://0.0.0.0/'],
    ['http://[::1]/'],
    ['http://[::]/'],
    ['http://[fc00::1]/'],
    ['http://[fd12:3456::1]/'],
    ['http://[::ffff:127.0.0.1]/'],
    ['http://[::ffff:10.1.2.3]/'],
    ['http://[::ffff:7f00:1]/'],
    ['http://[64:ff9b::a00:1]/'],
    ['http://[2002:7f00:1::]/'],
    ['http://localhost/'],
    ['http://LOCALHOST:3000/'],
    ['http://localhost./'],
    ['http://api.localhost/'],
    // WHATWG URL normalises decimal, hex and octal IPv4 spellings: the guard sees the real address.
    ['http://2130706433/'],
    ['http://0x7f.1/'],
    ['http://0177.0.0.1/'],
    ['http://0x7f000001/'],
    ['http://127.1/'],
    ['http://012.1/'],
  ])('refuses the private, loopback or unspecified %s unless OUTBOUND_ALLOW_PRIVATE', (url) => {
    expect(reason(url)).toBe('private_address');
    expect(reason(url, permissive)).toBeNull();
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://2852039166/', 'metadata'],
    ['http://0xa9fea9fe/', 'metadata'],
    ['http://0251.0376.0251.0376/', 'metadata'],
    ['http://169.254.1.1/', 'link_local'],
    ['http://[fe80::1]/', 'link_local'],
    ['http://[febf::1]/', 'link_local'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://[::ffff:a9fe:a9fe]/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://100.100.100.200/', 'metadata'],
    ['http://224.0.0.1/', 'reserved'],
    ['http://255.255.255.255/', 'reserved'],
    ['http://[ff02::1]/', 'reserved'],
  ])('refuses %s always, even with OUTBOUND_ALLOW_PRIVATE (%s)', (url, expected) => {
    expect(reason(url)).toBe(expected);
    expect(reason(url, permissive)).toBe(expected);
  });
});

describe('classifyAddress', () => {
  it('reads the resolver forms of addresses (dotted IPv4-mapped, zone ids)', () => {
    expect(classifyAddress('::ffff:169.254.169.254')).toBe('metadata');
    expect(classifyAddress('::ffff:127.0.0.1')).toBe('loopback');
    expect(classifyAddress('fe80::1%eth0')).toBe('link_local');
    expect(classifyAddress('8.8.8.8')).toBe('public');
    expect(classifyAddress('2001:4860:4860::8888')).toBe('public');
    expect(classifyAddress('172.32.0.1')).toBe('public');
    expect(classifyAddress('100.128.0.1')).toBe('public');
  });
});
