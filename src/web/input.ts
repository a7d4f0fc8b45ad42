// Checks what the API receives (JSON bodies, path and query parameters) and collects one message
// per bad field, so a form can show each error next to its field. The checks themselves are the
// store's (src/store/validate.ts): the web admin accepts exactly what the store accepts, plus
// decimal strings for numbers, since that is what form fields hold.
import { isLarsError } from '../errors.js';
import { checkDescription, checkPolicyKnob, checkPolicyName, checkPort, checkShare, checkUint32, checkWeight, checkZone, parseIpv4, POLICY_KNOBS, type PolicyKnob } from '../store/validate.js';
import type { AlarmThreshold, DescriptionKind, ModulePolicy, RouteNode } from '../store/store.js';

export type FieldMessages = Record<string, string>;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly fields: FieldMessages };

/** Collects field errors while a request is checked. */
export class FieldChecker {
  readonly fields: FieldMessages = {};

  get ok(): boolean {
    return Object.keys(this.fields).length === 0;
  }

  result<T>(make: () => T): Checked<T> {
    return this.ok ? { ok: true, value: make() } : { ok: false, fields: this.fields };
  }

  /** Runs a store check; its ERR_INVALID_INPUT message becomes the field's message. */
  private run<T>(field: string, check: () => T): T | undefined {
    try {
      return check();
    } catch (err) {
      if (!isLarsError(err, 'ERR_INVALID_INPUT')) throw err;
      this.fields[field] ??= err.message;
      return undefined;
    }
  }

  private present(field: string, value: unknown): boolean {
    if (value === undefined || value === null || value === '') {
      this.fields[field] ??= `${field} is required`;
      return false;
    }
    return true;
  }

  uint32(field: string, value: unknown): number {
    if (!this.present(field, value)) return 0;
    return this.run(field, () => checkUint32(field, numeric(value))) ?? 0;
  }

  port(field: string, value: unknown): number {
    if (!this.present(field, value)) return 0;
    return this.run(field, () => checkPort(field, numeric(value))) ?? 0;
  }

  ipv4(field: string, value: unknown): string {
    if (!this.present(field, value)) return '';
    const text = typeof value === 'string' ? value.trim() : value;
    this.run(field, () => parseIpv4(field, text));
    return typeof text === 'string' ? text : '';
  }

  /** A threshold above 0 and at most 1; a form's decimal text ("0.25") is accepted. */
  share(field: string, value: unknown): number {
    if (!this.present(field, value)) return 0;
    const n = typeof value === 'string' && /^\s*[0-9]*\.?[0-9]+\s*$/.test(value) ? Number(value) : value;
    return this.run(field, () => checkShare(field, n)) ?? 0;
  }

  /** RouteNodeAttr.weight; absent or '' = not given (the store keeps or defaults it). */
  weight(field: string, value: unknown): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    return this.run(field, () => checkWeight(field, numeric(value)));
  }

  /** RouteNodeAttr.zone; absent = not given, '' = no zone. */
  zone(field: string, value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    return this.run(field, () => checkZone(field, typeof value === 'string' ? value.trim() : value));
  }

  policyName(field: string, value: unknown): ModulePolicy['name'] {
    return this.run(field, () => checkPolicyName(field, value)) ?? 'lars';
  }

  /** A policy knob, the field named as the knob. */
  knob(knob: PolicyKnob, value: unknown): number {
    return this.run(knob, () => checkPolicyKnob(knob, knob, numeric(value))) ?? 0;
  }

  text(field: string, value: unknown): string {
    if (value === undefined || value === null) {
      this.fields[field] ??= `${field} is required`;
      return '';
    }
    return this.run(field, () => checkDescription(field, value)) ?? '';
  }

  /** Refuses fields other than `allowed`, so a typo is not silently ignored. */
  only(body: Record<string, unknown>, allowed: readonly string[]): void {
    for (const k of Object.keys(body)) {
      if (!allowed.includes(k)) this.fields[k] ??= `unknown field "${k}"; expected ${allowed.join(', ')}`;
    }
  }
}

/** Decimal strings (what form fields hold) become numbers; anything else is passed on for the check to name. */
function numeric(value: unknown): unknown {
  if (typeof value === 'string' && /^\s*[0-9]{1,10}\s*$/.test(value)) return Number(value);
  return value;
}

export interface NodeInput extends RouteNode {
  readonly modid: number;
  readonly cmdid: number;
}

/** Weight and zone, each only when given. */
function nodeAttrs(weight: number | undefined, zone: string | undefined): Pick<RouteNode, 'weight' | 'zone'> {
  return { ...(weight !== undefined ? { weight } : {}), ...(zone !== undefined ? { zone } : {}) };
}

/** {modid, cmdid, ip, port, weight?, zone?} */
export function checkNodeInput(body: Record<string, unknown>): Checked<NodeInput> {
  const c = new FieldChecker();
  c.only(body, ['modid', 'cmdid', 'ip', 'port', 'weight', 'zone']);
  const modid = c.uint32('modid', body.modid);
  const cmdid = c.uint32('cmdid', body.cmdid);
  const ip = c.ipv4('ip', body.ip);
  const port = c.port('port', body.port);
  const weight = c.weight('weight', body.weight);
  const zone = c.zone('zone', body.zone);
  return c.result(() => ({ modid, cmdid, ip, port, ...nodeAttrs(weight, zone) }));
}

/** The node named by a path /:modid/:cmdid/:ip/:port. */
export function checkNodePath(params: readonly string[]): Checked<NodeInput> {
  const [modid, cmdid, ip, port] = params;
  return checkNodeInput({ modid, cmdid, ip, port });
}

/** {ip, port, weight?, zone?}: where an edited node moves to, and its weight and zone (absent = kept). */
export function checkNodeTarget(body: Record<string, unknown>): Checked<RouteNode> {
  const c = new FieldChecker();
  c.only(body, ['ip', 'port', 'weight', 'zone']);
  const ip = c.ipv4('ip', body.ip);
  const port = c.port('port', body.port);
  const weight = c.weight('weight', body.weight);
  const zone = c.zone('zone', body.zone);
  return c.result(() => ({ ip, port, ...nodeAttrs(weight, zone) }));
}

/** {name, maxEjectionPercent?, panicThreshold?, ejectionBackoffMaxMs?, zoneOverprovision?, ringSize?}: a knob absent or '' is 0 (unset). */
export function checkPolicyInput(body: Record<string, unknown>): Checked<ModulePolicy> {
  const c = new FieldChecker();
  const knobs = Object.keys(POLICY_KNOBS) as PolicyKnob[];
  c.only(body, ['name', ...knobs]);
  const name = c.policyName('name', body.name);
  const values = Object.fromEntries(knobs.map((k) => [k, body[k] === undefined || body[k] === null || body[k] === '' ? 0 : c.knob(k, body[k])])) as Record<PolicyKnob, number>;
  return c.result(() => ({ name, ...values }));
}

/** {hosts: [{ip, port}, ...]}: a module's whole node set. */
export function checkHostList(body: Record<string, unknown>): Checked<RouteNode[]> {
  const c = new FieldChecker();
  c.only(body, ['hosts']);
  if (!Array.isArray(body.hosts)) {
    c.fields.hosts = 'hosts must be an array of {ip, port} (empty removes the module)';
    return c.result(() => []);
  }
  const hosts = (body.hosts as unknown[]).map((h, i) => {
    const o = (typeof h === 'object' && h !== null ? h : {}) as Record<string, unknown>;
    return { ip: c.ipv4(`hosts[${i}].ip`, o.ip), port: c.port(`hosts[${i}].port`, o.port) };
  });
  const seen = new Set<string>();
  hosts.forEach((h, i) => {
    const key = `${h.ip}:${h.port}`;
    if (seen.has(key)) c.fields[`hosts[${i}]`] ??= `${key} is listed twice`;
    seen.add(key);
  });
  return c.result(() => hosts);
}

export function checkModuleKey(modid: unknown, cmdid: unknown): Checked<{ modid: number; cmdid: number }> {
  const c = new FieldChecker();
  const m = c.uint32('modid', modid);
  const cm = c.uint32('cmdid', cmdid);
  return c.result(() => ({ modid: m, cmdid: cm }));
}

/** ?modid=&cmdid=: both optional. */
export function checkRouteFilter(query: URLSearchParams): Checked<{ modid?: number; cmdid?: number }> {
  const c = new FieldChecker();
  const modid = query.get('modid');
  const cmdid = query.get('cmdid');
  const m = modid !== null && modid !== '' ? c.uint32('modid', modid) : undefined;
  const cm = cmdid !== null && cmdid !== '' ? c.uint32('cmdid', cmdid) : undefined;
  return c.result(() => ({ ...(m !== undefined ? { modid: m } : {}), ...(cm !== undefined ? { cmdid: cm } : {}) }));
}

export function checkKind(kind: string | undefined): DescriptionKind | undefined {
  return kind === 'modid' || kind === 'cmdid' ? kind : undefined;
}

/** POST body {id, content}. */
export function checkDescriptionInput(body: Record<string, unknown>): Checked<{ id: number; content: string }> {
  const c = new FieldChecker();
  c.only(body, ['id', 'content']);
  const id = c.uint32('id', body.id);
  const content = c.text('content', body.content);
  return c.result(() => ({ id, content }));
}

/** PUT body {content} with the id from the path. */
export function checkDescriptionUpdate(idText: string | undefined, body: Record<string, unknown>): Checked<{ id: number; content: string }> {
  const c = new FieldChecker();
  c.only(body, ['content']);
  const id = c.uint32('id', idText);
  const content = c.text('content', body.content);
  return c.result(() => ({ id, content }));
}

export function checkLimitParam(query: URLSearchParams, fallback: number, max: number): Checked<number> {
  const c = new FieldChecker();
  const text = query.get('limit');
  let limit = fallback;
  if (text !== null && text !== '') {
    limit = c.uint32('limit', text);
    if (c.ok && (limit < 1 || limit > max)) c.fields.limit = `limit must be an integer from 1 to ${max}, got ${text}`;
  }
  return c.result(() => limit);
}

/** A module's own alarm thresholds: the path /:modid/:cmdid and {errorRatio, overloadedShare}. */
export function checkAlarmThreshold(params: readonly string[], body: Record<string, unknown>): Checked<AlarmThreshold> {
  const c = new FieldChecker();
  c.only(body, ['errorRatio', 'overloadedShare']);
  const modid = c.uint32('modid', params[0]);
  const cmdid = c.uint32('cmdid', params[1]);
  const errorRatio = c.share('errorRatio', body.errorRatio);
  const overloadedShare = c.share('overloadedShare', body.overloadedShare);
  return c.result(() => ({ modid, cmdid, errorRatio, overloadedShare }));
}
