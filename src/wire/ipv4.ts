// IPv4 addresses as Lars carries them: the 32-bit number a<<24|b<<16|c<<8|d, on the wire in an
// int32 field (so addresses above 127.255.255.255 are negative) and in MySQL as an unsigned number.
import { LarsError } from '../errors.js';

// Four decimal octets 0..255 without leading zeros: "010" would mean 8 to inet_aton and 10 to
// a human, so it is refused rather than guessed.
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** '192.168.1.177' → 3232235953. Throws ERR_INVALID_INPUT for anything but a dotted-quad IPv4. */
export function ipToUint32(ip: string): number {
  const m = typeof ip === 'string' ? IPV4.exec(ip) : null;
  if (m === null) {
    throw new LarsError('ERR_INVALID_INPUT', `not an IPv4 address: ${JSON.stringify(ip)} (expected a dotted quad such as 10.0.0.1)`);
  }
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** '192.168.1.177' → -1062731343: the value of HostInfo.ip and ReportStatusRequest.caller. */
export function ipToInt32(ip: string): number {
  return ipToUint32(ip) | 0;
}

/** 3232235953 → '192.168.1.177'. */
export function uint32ToIp(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new LarsError('ERR_INVALID_INPUT', `not a uint32 IPv4 number: ${n} (expected an integer 0..4294967295)`);
  }
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** -1062731343 → '192.168.1.177'. */
export function int32ToIp(n: number): string {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new LarsError('ERR_INVALID_INPUT', `not an int32 IPv4 number: ${n} (expected an integer -2147483648..2147483647)`);
  }
  return uint32ToIp(n >>> 0);
}
