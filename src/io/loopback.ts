import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * "Loopback" as vault-ops uses it to allow plaintext http (Vault addresses, S3 endpoints): a
 * literal loopback address (127.0.0.0/8, ::1, an IPv4-mapped 127.x), or a name that resolves only
 * to such addresses. A name is never trusted for what it looks like: `localhost` or
 * `x.localhost` pointed elsewhere by /etc/hosts or DNS is not loopback.
 */
export function isLiteralLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) {
    if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    return mapped ? mapped[1]!.startsWith('127.') : false;
  }
  return false;
}

export type AddressLookup = (hostname: string) => Promise<Array<{ address: string }>>;

const systemLookup: AddressLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** True when `hostname` is a literal loopback address or resolves to loopback addresses only. */
export async function isLoopbackHost(hostname: string, lookup: AddressLookup = systemLookup): Promise<boolean> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isLiteralLoopback(host);
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host);
  } catch {
    return false;
  }
  return addresses.length > 0 && addresses.every((a) => isLiteralLoopback(a.address));
}
