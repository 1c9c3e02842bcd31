import { isIPv4, isIPv6 } from 'node:net';
import { InvalidEventPatternError } from './pattern-error.ts';

/** An address block as integers, so IPv4 (32 bits) and IPv6 (128 bits) compare the same way. */
export interface IpRange {
  version: 4 | 6;
  first: bigint;
  last: bigint;
}

// The shapes AWS's matcher (event-ruler) treats as IP literals at all; anything else is "Nonstandard".
const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((total, octet) => (total << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [
    ...headGroups,
    ...Array.from({ length: tail === undefined ? 0 : missing }, () => '0'),
    ...tailGroups,
  ];
  return groups.reduce((total, group) => (total << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/** The address as an integer, or undefined when the text is not an IPv4 or IPv6 literal. */
export function parseIp(text: string): { version: 4 | 6; value: bigint } | undefined {
  if (IPV4_SHAPE.test(text) && isIPv4(text)) return { version: 4, value: ipv4ToBigInt(text) };
  if (IPV6_SHAPE.test(text) && isIPv6(text)) return { version: 6, value: ipv6ToBigInt(text) };
  return undefined;
}

function parseIpOrFail(text: string): { version: 4 | 6; value: bigint } {
  const parsed = parseIp(text);
  if (parsed !== undefined) return parsed;
  const shaped = IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
  throw new InvalidEventPatternError(`${shaped ? 'Invalid' : 'Nonstandard'} IP address: ${text}`);
}

/**
 * A `cidr` operand, refused with AWS's reasons. Like AWS, a mask must be below the address width
 * (`/32` on IPv4 is refused; an exact address is matched by a plain string value instead).
 */
export function parseCidr(text: string): IpRange {
  // Java's String.split drops trailing empty parts, so "10.0.0.0/" has no mask part at all.
  const parts = text.split('/');
  while (parts.length > 1 && parts.at(-1) === '') parts.pop();
  if (parts.length !== 2) throw new InvalidEventPatternError("Malformed CIDR, one '/' required");
  const [address = '', maskText = ''] = parts;
  if (!/^[+-]?[0-9]+$/.test(maskText)) {
    throw new InvalidEventPatternError('Malformed CIDR, mask bits must be an integer');
  }
  const mask = Number(maskText);
  if (mask < 0) throw new InvalidEventPatternError('Malformed CIDR, mask bits must not be negative');
  const ip = parseIpOrFail(address);
  const width = ip.version === 4 ? 32 : 128;
  if (mask >= width) throw new InvalidEventPatternError(`IPv${ip.version} mask bits must be < ${width}`);
  const hostBits = BigInt(width - mask);
  const first = (ip.value >> hostBits) << hostBits;
  return { version: ip.version, first, last: first + (1n << hostBits) - 1n };
}

export function ipInRange(text: string, range: IpRange): boolean {
  const ip = parseIp(text);
  return (
    ip !== undefined && ip.version === range.version && ip.value >= range.first && ip.value <= range.last
  );
}
