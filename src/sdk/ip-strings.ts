// Dotted quads for the wire's int32 addresses and back, remembered: a business process talks to
// a few hundred nodes at most, and the local hot path (a pick, then its report) would otherwise
// format and parse the same strings on every call.
import { int32ToIp, ipToInt32 } from '../wire/ipv4.js';

/** Past this many entries a map starts over: a bound for a process that sees addresses churn. */
const MAX_ENTRIES = 65_536;

export class IpStrings {
  readonly #strings = new Map<number, string>();
  readonly #ints = new Map<string, number>();

  /** The dotted quad of an int32 address. */
  toIp(n: number): string {
    let s = this.#strings.get(n);
    if (s === undefined) {
      s = int32ToIp(n);
      if (this.#strings.size >= MAX_ENTRIES) this.#strings.clear();
      this.#strings.set(n, s);
      this.#remember(s, n);
    }
    return s;
  }

  /** The int32 of a dotted quad; throws ERR_INVALID_INPUT for anything else (ipToInt32). */
  toInt(ip: string): number {
    const n = this.#ints.get(ip);
    if (n !== undefined) return n;
    const parsed = ipToInt32(ip);
    this.#remember(ip, parsed);
    return parsed;
  }

  #remember(ip: string, n: number): void {
    if (this.#ints.size >= MAX_ENTRIES) this.#ints.clear();
    this.#ints.set(ip, n);
  }
}
