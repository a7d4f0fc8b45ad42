// The pages: server-rendered shells (navigation, forms, empty tables) that static/app.js fills
// from the JSON API. The only data written here is the user name and the CSRF token, both
// escaped; everything else reaches the page through textContent in app.js, never as HTML.
import { POLICY_NAMES } from '../store/store.js';
import { escapeHtml, htmlReply, redirect, type WebReply } from './http.js';
import type { RouteDef } from './router.js';
import type { Session } from './session-store.js';

interface PageSpec {
  readonly path: string;
  readonly title: string;
  readonly body: string;
  readonly extraCss?: readonly string[];
  readonly extraJs?: readonly string[];
}

const field = (name: string, label: string, attrs = ''): string =>
  `<label class="field"><span>${label}</span><input name="${name}" ${attrs}><span class="field-error" data-for="${name}"></span></label>`;

const ROUTES_BODY = `
<section>
  <h1>Routes</h1>
  <p class="muted">Route version <strong id="route-version">…</strong>. Every change is one route-change transaction: agents receive it from the DNS service within about a second.</p>
  <form id="route-filter" class="inline-form" autocomplete="off">
    ${field('modid', 'modid', 'inputmode="numeric" size="8"')}
    ${field('cmdid', 'cmdid', 'inputmode="numeric" size="8"')}
    <button type="submit">Filter</button>
    <button type="button" id="route-filter-clear" class="secondary">Show all</button>
  </form>
  <table id="routes-table" class="data">
    <thead><tr><th>modid</th><th>cmdid</th><th>ip</th><th>port</th><th class="num">weight</th><th>zone</th><th class="actions">actions</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="routes-empty" class="muted" hidden>No nodes.</p>
</section>
<section>
  <h2>Add a node</h2>
  <form id="add-node" class="inline-form" autocomplete="off">
    ${field('modid', 'modid', 'inputmode="numeric" size="8"')}
    ${field('cmdid', 'cmdid', 'inputmode="numeric" size="8"')}
    ${field('ip', 'ip', 'size="15" placeholder="10.0.0.1"')}
    ${field('port', 'port', 'inputmode="numeric" size="6"')}
    ${field('weight', 'weight (1–10000)', 'inputmode="numeric" size="6" placeholder="100"')}
    ${field('zone', 'zone', 'size="12" placeholder="none"')}
    <button type="submit">Add node</button>
    <p class="form-error" role="alert"></p>
  </form>
</section>
<section>
  <h2>Module policies</h2>
  <p class="muted">How agents pick a node of a module (docs/policies.md). A module not listed uses policy lars with the agent's settings.
  An empty knob is 0: unset (the agent's setting or the knob's default).</p>
  <table id="policies-table" class="data">
    <thead><tr><th>modid</th><th>cmdid</th><th>policy</th><th class="num">max ejection %</th><th class="num">panic %</th><th class="num">ejection backoff max ms</th><th class="num">zone overprovision %</th><th class="num">ring size</th><th class="actions">actions</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="policies-empty" class="muted" hidden>Every module uses policy lars.</p>
  <form id="set-policy" class="inline-form" autocomplete="off">
    ${field('modid', 'modid', 'inputmode="numeric" size="8"')}
    ${field('cmdid', 'cmdid', 'inputmode="numeric" size="8"')}
    <label class="field"><span>policy</span><select name="name">${POLICY_NAMES.map((n) => `<option value="${n}">${n}</option>`).join('')}</select><span class="field-error" data-for="name"></span></label>
    ${field('maxEjectionPercent', 'max ejection % (0–100)', 'inputmode="numeric" size="5"')}
    ${field('panicThreshold', 'panic threshold % (0–100)', 'inputmode="numeric" size="5"')}
    ${field('ejectionBackoffMaxMs', 'ejection backoff max ms', 'inputmode="numeric" size="9"')}
    ${field('zoneOverprovision', 'zone overprovision %', 'inputmode="numeric" size="6" placeholder="140"')}
    ${field('ringSize', 'ring size', 'inputmode="numeric" size="8" placeholder="1024"')}
    <button type="submit">Set policy</button>
    <p class="form-error" role="alert"></p>
  </form>
</section>`;

const descriptionSection = (kind: 'modid' | 'cmdid', title: string): string => `
<section>
  <h2>${title}</h2>
  <table id="${kind}-table" class="data descriptions" data-kind="${kind}">
    <thead><tr><th>${kind}</th><th>description</th><th class="actions">actions</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="${kind}-empty" class="muted" hidden>No descriptions.</p>
  <form id="add-${kind}" class="inline-form add-description" data-kind="${kind}" autocomplete="off">
    ${field('id', kind, 'inputmode="numeric" size="8"')}
    <label class="field wide"><span>description</span><input name="content" maxlength="1024"><span class="field-error" data-for="content"></span></label>
    <button type="submit">Add</button>
    <p class="form-error" role="alert"></p>
  </form>
</section>`;

const MODULES_BODY = `
<h1>Modules</h1>
<p class="muted">What each modid (a business area) and cmdid (an operation) is: the ModIDConfig and CmdIDConfig tables.</p>
${descriptionSection('modid', 'modid descriptions')}
${descriptionSection('cmdid', 'cmdid descriptions')}`;

const HISTORY_BODY = `
<section>
  <h1>History</h1>
  <p>Current route version: <strong id="history-version">…</strong> <button type="button" id="history-refresh" class="secondary">Refresh</button></p>
  <p class="muted">The change log (RouteChange), newest first: one row per module changed, with the version it got,
  who made the change and what it changed (the RouteAudit side table). "Revert this change" sets the module's nodes back
  to what they were before it, as a new change of its own (so it also undoes that module's later changes).</p>
  <table id="history-table" class="data">
    <thead><tr><th>change id</th><th>modid</th><th>cmdid</th><th>version</th><th>time</th><th>who</th><th>what changed</th><th class="actions">actions</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="history-empty" class="muted" hidden>No changes yet.</p>
</section>`;

const STATUS_BODY = `
<section>
  <h1>Call status <span id="live-state" class="badge">connecting…</span></h1>
  <p class="muted">Each node's latest statistics per caller (the counts of its current window, and the average and maximum time of the calls timed in it), as the agents report them; updated live.
  The charts show each module's calls per second and the percentage of them that failed (and the average call time of its current windows), from the calls reported between two samples
  of this web admin (every second; kept in its memory for the last 10 minutes).</p>
  <div id="status-modules"></div>
  <p id="status-empty" class="muted" hidden>No call status reported yet.</p>
</section>`;

const ALARMS_BODY = `
<section>
  <h1>Alarms <span id="live-state" class="badge">connecting…</span></h1>
  <p class="muted">Modules in alarm now, updated live: a module is in alarm while the failures over its nodes' current windows
  reach its error-ratio threshold, or the share of its nodes overloaded reaches its overloaded-share threshold.
  "Since" is when this web admin first saw it so.</p>
  <table id="alarms-table" class="data">
    <thead><tr><th>module</th><th>since</th><th class="num">errors</th><th class="num">overloaded nodes</th><th>why</th><th>thresholds (errors / overloaded)</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="alarms-empty" class="muted" hidden>No module is in alarm.</p>
</section>
<section>
  <h2>Thresholds</h2>
  <p class="muted">Defaults ([web] alarm_error_ratio / alarm_overloaded_share): error ratio <strong id="default-error-ratio">…</strong>,
  overloaded share <strong id="default-overloaded-share">…</strong>. Modules listed here use their own.</p>
  <table id="thresholds-table" class="data">
    <thead><tr><th>modid</th><th>cmdid</th><th class="num">error ratio</th><th class="num">overloaded share</th><th class="actions">actions</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="thresholds-empty" class="muted" hidden>Every module uses the defaults.</p>
  <form id="set-threshold" class="inline-form" autocomplete="off">
    ${field('modid', 'modid', 'inputmode="numeric" size="8"')}
    ${field('cmdid', 'cmdid', 'inputmode="numeric" size="8"')}
    ${field('errorRatio', 'error ratio (0–1]', 'inputmode="decimal" size="8" placeholder="0.1"')}
    ${field('overloadedShare', 'overloaded share (0–1]', 'inputmode="decimal" size="8" placeholder="0.5"')}
    <button type="submit">Set thresholds</button>
    <p class="form-error" role="alert"></p>
  </form>
</section>`;

const PAGES: readonly PageSpec[] = [
  { path: '/routes', title: 'Routes', body: ROUTES_BODY },
  { path: '/modules', title: 'Modules', body: MODULES_BODY },
  { path: '/history', title: 'History', body: HISTORY_BODY },
  { path: '/status', title: 'Call status', body: STATUS_BODY, extraCss: ['/static/vendor/uPlot.min.css'], extraJs: ['/static/vendor/uPlot.iife.min.js'] },
  { path: '/alarms', title: 'Alarms', body: ALARMS_BODY },
];

function layout(opts: { title: string; page: string; body: string; session?: Session; extraCss?: readonly string[]; extraJs?: readonly string[] }): string {
  const nav =
    opts.session === undefined
      ? ''
      : `<nav>
  <span class="brand">Lars admin</span>
  ${PAGES.map((p) => `<a href="${p.path}"${p.path === `/${opts.page}` ? ' aria-current="page"' : ''}>${escapeHtml(p.title)}</a>`).join('\n  ')}
  <span class="spacer"></span>
  <span class="user">${escapeHtml(opts.session.user)}</span>
  <button type="button" id="logout" class="secondary">Log out</button>
</nav>`;
  const csrf = opts.session === undefined ? '' : `\n<meta name="csrf-token" content="${escapeHtml(opts.session.csrfToken)}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)} — Lars admin</title>${csrf}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
${(opts.extraCss ?? []).map((c) => `<link rel="stylesheet" href="${c}">`).join('\n')}
${(opts.extraJs ?? []).map((j) => `<script src="${j}" defer></script>`).join('\n')}
<script type="module" src="/static/app.js"></script>
</head>
<body data-page="${escapeHtml(opts.page)}">
<header>${nav}</header>
<main>${opts.body}</main>
</body>
</html>
`;
}

const LOGIN_BODY = `
<section class="login">
  <h1>Lars admin</h1>
  <form id="login-form" autocomplete="on">
    <label class="field"><span>user</span><input name="user" autocomplete="username" required><span class="field-error" data-for="user"></span></label>
    <label class="field"><span>password</span><input name="password" type="password" autocomplete="current-password" required><span class="field-error" data-for="password"></span></label>
    <button type="submit">Log in</button>
    <p class="form-error" role="alert"></p>
  </form>
</section>`;

export function loginPage(): WebReply {
  return htmlReply(200, layout({ title: 'Log in', page: 'login', body: LOGIN_BODY }));
}

export function pageRoutes(): RouteDef[] {
  const defs: RouteDef[] = PAGES.map((p) => ({
    method: 'GET',
    path: p.path,
    access: 'session',
    kind: 'page',
    handler: ({ session }) => htmlReply(200, layout({ title: p.title, page: p.path.slice(1), body: p.body, session, extraCss: p.extraCss, extraJs: p.extraJs })),
  }));
  defs.push({ method: 'GET', path: '/', access: 'session', kind: 'page', handler: () => redirect('/routes') });
  return defs;
}
