// The JSON API under /api/: everything the pages do, for the pages' own script and for other
// scripts alike (docs/web.md). Handlers check their input (src/web/input.ts), call the store and
// answer JSON; access control (session, CSRF) is the server's, from each route's `access`.
import { isLarsError } from '../errors.js';
import type { ModulePolicy, ModuleRoute, RouteChangeResult, RouteNode, Store } from '../store/store.js';
import { moduleKey } from '../wire/module-key.js';
import type { Credentials } from './credentials.js';
import { errorReply, jsonReply, readJsonObject, type WebReply } from './http.js';
import {
  checkAlarmThreshold,
  checkDescriptionInput,
  checkDescriptionUpdate,
  checkHostList,
  checkKind,
  checkLimitParam,
  checkModuleKey,
  checkNodeInput,
  checkNodePath,
  checkNodeTarget,
  checkPolicyInput,
  checkRouteFilter,
  FieldChecker,
  type Checked,
  type FieldMessages,
} from './input.js';
import type { LoginLimiter } from './login-limiter.js';
import type { HandlerContext, RouteDef } from './router.js';
import { SessionStore, type Session } from './session-store.js';
import type { StatusMonitor } from './status-monitor.js';

export interface ApiDeps {
  readonly store: Store;
  readonly credentials: Credentials;
  readonly sessions: SessionStore;
  readonly limiter: LoginLimiter;
  readonly monitor: StatusMonitor;
}

/** 400 naming every bad field; the message is the first field's. */
export function invalidReply(fields: FieldMessages): WebReply {
  const first = Object.values(fields)[0] ?? 'invalid input';
  return errorReply(400, 'ERR_INVALID_INPUT', first, fields);
}

/** The checked value, or the 400 reply to send. */
function unwrap<T>(checked: Checked<T>): { value: T } | { reply: WebReply } {
  return checked.ok ? { value: checked.value } : { reply: invalidReply(checked.fields) };
}

/**
 * Runs a route change (or a revert) audited as made by the session's user; the store refusing it
 * (node already there, route too big, a race, nothing to revert to) is a 409.
 */
async function change(run: () => Promise<RouteChangeResult>, okStatus = 200): Promise<WebReply> {
  try {
    return jsonReply(okStatus, await run());
  } catch (err) {
    if (isLarsError(err, 'ERR_INVALID_INPUT')) return errorReply(409, 'ERR_CONFLICT', err.message);
    if (isLarsError(err, 'ERR_NOT_FOUND')) return errorReply(404, 'ERR_NOT_FOUND', err.message);
    throw err;
  }
}

/** The web user who makes a change, as the audit records it. */
const actorOf = (session: Session | undefined): string => session?.user ?? 'web';

/** The node as stored (with its weight and zone), or undefined when it is not in the route. */
async function findNode(store: Store, modid: number, cmdid: number, node: RouteNode): Promise<RouteNode | undefined> {
  const rows = await store.listRoutes({ modid, cmdid });
  return rows.find((r) => r.ip === node.ip && r.port === node.port);
}

const notANode = (n: { modid: number; cmdid: number; ip: string; port: number }): WebReply =>
  errorReply(404, 'ERR_NOT_FOUND', `${n.ip}:${n.port} is not a node of modid ${n.modid} cmdid ${n.cmdid}`);

export function apiRoutes(deps: ApiDeps): RouteDef[] {
  const { store, credentials, sessions, limiter, monitor } = deps;
  const api = (method: RouteDef['method'], path: string, handler: RouteDef['handler'], access: RouteDef['access'] = 'session'): RouteDef => ({
    method,
    path,
    access,
    kind: 'api',
    handler,
  });

  return [
    // ---- session ---------------------------------------------------------------------------
    api(
      'POST',
      '/api/login',
      async ({ req }) => {
        const body = readJsonObject(req);
        if ('reply' in body) return body.reply;
        const c = new FieldChecker();
        c.only(body.value, ['user', 'password']);
        for (const f of ['user', 'password'] as const) {
          if (typeof body.value[f] !== 'string' || body.value[f] === '') c.fields[f] ??= `${f} is required`;
        }
        if (!c.ok) return invalidReply(c.fields);
        // Admitted and counted before the hash runs, so simultaneous attempts share the limit.
        const admission = limiter.begin(req.remoteAddress);
        if ('retryAfterMs' in admission) {
          const seconds = Math.ceil(admission.retryAfterMs / 1000);
          return { ...errorReply(429, 'ERR_RATE_LIMITED', `too many failed logins from ${req.remoteAddress}; try again in ${seconds} s`), headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(seconds) } };
        }
        let ok = false;
        try {
          ok = await credentials.verify(body.value.user as string, body.value.password as string);
        } finally {
          admission.attempt.end(ok);
        }
        if (!ok) return errorReply(401, 'ERR_LOGIN_FAILED', 'wrong user or password');
        const { session, cookie } = sessions.create(credentials.user);
        return jsonReply(
          200,
          { user: session.user, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString() },
          { setCookies: [sessions.setCookieHeader(cookie)] },
        );
      },
      'public',
    ),
    api('POST', '/api/logout', ({ session }) => {
      if (session !== undefined) sessions.destroy(session.id);
      return { status: 204, setCookies: [SessionStore.clearCookieHeader()] };
    }),
    api('GET', '/api/session', ({ session }) =>
      jsonReply(200, { user: session?.user, csrfToken: session?.csrfToken, expiresAt: new Date(session?.expiresAt ?? 0).toISOString() }),
    ),

    // ---- routes ----------------------------------------------------------------------------
    api('GET', '/api/routes', async ({ req }) => {
      const filter = unwrap(checkRouteFilter(req.query));
      if ('reply' in filter) return filter.reply;
      const [version, rows, leases, policies] = await Promise.all([store.getVersion(), store.listRoutes(filter.value), store.listLeases(filter.value), store.listPolicies(filter.value)]);
      const policyOf = new Map(policies.map((p) => [moduleKey(p.modid, p.cmdid), p.policy]));
      // A registered node carries its lease (EXTENSIONS.md §4); a static one has none.
      const leaseOf = new Map(leases.map((l) => [`${moduleKey(l.modid, l.cmdid)}/${l.ip}:${l.port}`, { expiresAt: new Date(l.expiresAt).toISOString(), ttlMs: l.ttlMs }]));
      const modules: { modid: number; cmdid: number; policy?: ModulePolicy; hosts: (RouteNode & { lease?: { expiresAt: string; ttlMs: number } })[] }[] = [];
      const seen = new Set<string>();
      for (const r of rows) {
        let m = modules[modules.length - 1];
        if (m === undefined || m.modid !== r.modid || m.cmdid !== r.cmdid) {
          m = { modid: r.modid, cmdid: r.cmdid, hosts: [] };
          modules.push(m);
        }
        // A hand-edited reference database may hold a node twice; it is one node.
        const key = `${moduleKey(r.modid, r.cmdid)}/${r.ip}:${r.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const lease = leaseOf.get(key);
        // weight and zone as the store reads them: present only when not the default (100, no zone).
        m.hosts.push({ ip: r.ip, port: r.port, ...(r.weight === undefined ? {} : { weight: r.weight }), ...(r.zone === undefined ? {} : { zone: r.zone }), ...(lease === undefined ? {} : { lease }) });
      }
      // A module without a ModulePolicy row has policy lars with the agent's settings: no `policy`.
      for (const m of modules) {
        const policy = policyOf.get(moduleKey(m.modid, m.cmdid));
        if (policy !== undefined) m.policy = policy;
      }
      return jsonReply(200, { version, modules: modules satisfies ModuleRoute[] });
    }),
    api('POST', '/api/routes/nodes', async ({ req, session }) => {
      const body = readJsonObject(req);
      if ('reply' in body) return body.reply;
      const node = unwrap(checkNodeInput(body.value));
      if ('reply' in node) return node.reply;
      return change(() => store.applyRouteChange([{ op: 'add', ...node.value }], actorOf(session)), 201);
    }),
    api('PUT', '/api/routes/nodes/:modid/:cmdid/:ip/:port', async ({ req, params, session }) => {
      const from = unwrap(checkNodePath(params));
      if ('reply' in from) return from.reply;
      const body = readJsonObject(req);
      if ('reply' in body) return body.reply;
      const to = unwrap(checkNodeTarget(body.value));
      if ('reply' in to) return to.reply;
      const { modid, cmdid } = from.value;
      const stored = await findNode(store, modid, cmdid, from.value);
      if (stored === undefined) return notANode(from.value);
      if (from.value.ip === to.value.ip && from.value.port === to.value.port) {
        if (to.value.weight === undefined && to.value.zone === undefined) {
          const version = await store.getVersion();
          return jsonReply(200, { version, previousVersion: version, changed: [] } satisfies RouteChangeResult);
        }
        // Same address: only the weight and zone given change (the store skips what is equal).
        return change(() => store.applyRouteChange([{ op: 'set', modid, cmdid, ...to.value }], actorOf(session)));
      }
      // One transaction: the node never disappears from the route without its replacement, which
      // keeps the weight and zone not given.
      return change(() =>
        store.applyRouteChange(
          [
            { op: 'remove', ...from.value },
            { op: 'add', modid, cmdid, weight: stored.weight, zone: stored.zone, ...to.value },
          ],
          actorOf(session),
        ),
      );
    }),
    api('DELETE', '/api/routes/nodes/:modid/:cmdid/:ip/:port', async ({ params, session }) => {
      const node = unwrap(checkNodePath(params));
      if ('reply' in node) return node.reply;
      if ((await findNode(store, node.value.modid, node.value.cmdid, node.value)) === undefined) return notANode(node.value);
      return change(() => store.applyRouteChange([{ op: 'remove', ...node.value }], actorOf(session)));
    }),
    api('POST', '/api/routes/nodes/:modid/:cmdid/:ip/:port/pin', async ({ params }) => {
      const node = unwrap(checkNodePath(params));
      if ('reply' in node) return node.reply;
      const { modid, cmdid, ip, port } = node.value;
      if (!(await store.pinNode({ modid, cmdid }, ip, port))) return errorReply(409, 'ERR_NOT_LEASED', `${ip}:${port} of modid ${modid} cmdid ${cmdid} has no lease: it is static already, or not a node`);
      return jsonReply(200, { pinned: { modid, cmdid, ip, port } });
    }),
    api('PUT', '/api/routes/:modid/:cmdid', async ({ req, params, session }) => {
      const key = unwrap(checkModuleKey(params[0], params[1]));
      if ('reply' in key) return key.reply;
      const body = readJsonObject(req);
      if ('reply' in body) return body.reply;
      const hosts = unwrap(checkHostList(body.value));
      if ('reply' in hosts) return hosts.reply;
      return change(() => store.applyRouteChange([{ op: 'replace', ...key.value, hosts: hosts.value }], actorOf(session)));
    }),

    // ---- module policies (EXTENSIONS.md §3) --------------------------------------------------
    api('GET', '/api/routes/:modid/:cmdid/policy', async ({ params }) => {
      const key = unwrap(checkModuleKey(params[0], params[1]));
      if ('reply' in key) return key.reply;
      // No ModulePolicy row: policy lars with the agent's settings, every knob unset.
      return jsonReply(200, { ...key.value, policy: (await store.getPolicy(key.value)) ?? null });
    }),
    api('PUT', '/api/routes/:modid/:cmdid/policy', async ({ req, params, session }) => {
      const key = unwrap(checkModuleKey(params[0], params[1]));
      if ('reply' in key) return key.reply;
      const body = readJsonObject(req);
      if ('reply' in body) return body.reply;
      const policy = unwrap(checkPolicyInput(body.value));
      if ('reply' in policy) return policy.reply;
      return change(() => store.applyRouteChange([{ op: 'setPolicy', ...key.value, policy: policy.value }], actorOf(session)));
    }),
    api('DELETE', '/api/routes/:modid/:cmdid/policy', async ({ params, session }) => {
      const key = unwrap(checkModuleKey(params[0], params[1]));
      if ('reply' in key) return key.reply;
      return change(() => store.applyRouteChange([{ op: 'removePolicy', ...key.value }], actorOf(session)));
    }),

    // ---- module descriptions ---------------------------------------------------------------
    api('GET', '/api/descriptions', async () => {
      const [modid, cmdid] = await Promise.all([store.listDescriptions('modid'), store.listDescriptions('cmdid')]);
      return jsonReply(200, { modid, cmdid });
    }),
    api('GET', '/api/descriptions/:kind', async ({ params }) => {
      const kind = checkKind(params[0]);
      if (kind === undefined) return badKind(params[0]);
      return jsonReply(200, { [kind]: await store.listDescriptions(kind) });
    }),
    api('POST', '/api/descriptions/:kind', async ({ req, params }) => {
      const kind = checkKind(params[0]);
      if (kind === undefined) return badKind(params[0]);
      const body = readJsonObject(req);
      if ('reply' in body) return body.reply;
      const input = unwrap(checkDescriptionInput(body.value));
      if ('reply' in input) return input.reply;
      const existing = await store.listDescriptions(kind);
      if (existing.some((d) => d.id === input.value.id)) {
        return errorReply(409, 'ERR_CONFLICT', `${kind} ${input.value.id} already has a description; edit it with PUT /api/descriptions/${kind}/${input.value.id}`, {
          id: `${kind} ${input.value.id} already has a description`,
        });
      }
      await store.upsertDescription(kind, input.value.id, input.value.content);
      return jsonReply(201, { id: input.value.id, content: input.value.content });
    }),
    api('PUT', '/api/descriptions/:kind/:id', async ({ req, params }) => {
      const kind = checkKind(params[0]);
      if (kind === undefined) return badKind(params[0]);
      const body = readJsonObject(req);
      if ('reply' in body) return body.reply;
      const input = unwrap(checkDescriptionUpdate(params[1], body.value));
      if ('reply' in input) return input.reply;
      await store.upsertDescription(kind, input.value.id, input.value.content);
      return jsonReply(200, { id: input.value.id, content: input.value.content });
    }),
    api('DELETE', '/api/descriptions/:kind/:id', async ({ params }) => {
      const kind = checkKind(params[0]);
      if (kind === undefined) return badKind(params[0]);
      const c = new FieldChecker();
      const id = c.uint32('id', params[1]);
      if (!c.ok) return invalidReply(c.fields);
      if (!(await store.deleteDescription(kind, id))) return errorReply(404, 'ERR_NOT_FOUND', `${kind} ${id} has no description`);
      return { status: 204 };
    }),

    // ---- history ---------------------------------------------------------------------------
    api('GET', '/api/history', async ({ req }) => {
      const limit = unwrap(checkLimitParam(req.query, 100, 10_000));
      if ('reply' in limit) return limit.reply;
      const [version, changes, audit] = await Promise.all([store.getVersion(), store.recentChanges(limit.value), store.recentAudit(limit.value)]);
      // Each change with its audit row (same module and version); changes from before the audit
      // existed, or made by tools that bypass the store, have none.
      const byChange = new Map(audit.map((a) => [`${moduleKey(a.modid, a.cmdid)}@${a.version}`, a]));
      return jsonReply(200, { version, changes: changes.map((c) => ({ ...c, audit: byChange.get(`${moduleKey(c.modid, c.cmdid)}@${c.version}`) })) });
    }),
    api('POST', '/api/history/:auditId/revert', async ({ params, session }) => {
      const c = new FieldChecker();
      const auditId = c.uint32('auditId', params[0]);
      if (!c.ok) return invalidReply(c.fields);
      return change(() => store.revertRouteChange(auditId, actorOf(session)));
    }),

    // ---- alarms ----------------------------------------------------------------------------
    api('GET', '/api/alarms', async () => {
      const thresholds = await store.listAlarmThresholds();
      const snap = monitor.snapshot();
      return jsonReply(200, { t: snap.t, storeUp: snap.storeUp, defaults: monitor.alarmDefaults, thresholds, alarms: snap.alarms });
    }),
    api('PUT', '/api/alarms/thresholds/:modid/:cmdid', async ({ req, params }) => {
      const body = readJsonObject(req);
      if ('reply' in body) return body.reply;
      const threshold = unwrap(checkAlarmThreshold(params, body.value));
      if ('reply' in threshold) return threshold.reply;
      await store.setAlarmThreshold(threshold.value);
      return jsonReply(200, threshold.value);
    }),
    api('DELETE', '/api/alarms/thresholds/:modid/:cmdid', async ({ params }) => {
      const key = unwrap(checkModuleKey(params[0], params[1]));
      if ('reply' in key) return key.reply;
      if (!(await store.deleteAlarmThreshold(key.value))) {
        return errorReply(404, 'ERR_NOT_FOUND', `modid ${key.value.modid} cmdid ${key.value.cmdid} has no thresholds of its own; it uses the defaults`);
      }
      return { status: 204 };
    }),

    // ---- call status -----------------------------------------------------------------------
    api('GET', '/api/status', ({ req }) => {
      const filter = unwrap(checkRouteFilter(req.query));
      if ('reply' in filter) return filter.reply;
      const { modid, cmdid } = filter.value;
      const snap = monitor.snapshot();
      const wanted = (m: { modid: number; cmdid: number }): boolean => (modid === undefined || m.modid === modid) && (cmdid === undefined || m.cmdid === cmdid);
      const rows = snap.rows.filter(wanted);
      const series = Object.fromEntries(
        Object.entries(snap.series).filter(([k]) => {
          const [m, c] = k.split('/').map(Number) as [number, number];
          return wanted({ modid: m, cmdid: c });
        }),
      );
      return jsonReply(200, { t: snap.t, storeUp: snap.storeUp, rows, series });
    }),
  ];
}

function badKind(kind: string | undefined): WebReply {
  return errorReply(404, 'ERR_NOT_FOUND', `unknown description kind "${kind ?? ''}": use modid or cmdid`);
}
