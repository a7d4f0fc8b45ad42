// The web admin's front end: one module for every page (body[data-page] says which). It talks
// only to the JSON API (docs/web.md) and puts data on the page only through textContent and
// form values, never as HTML, so whatever a description holds shows as text.

const page = document.body.dataset.page;
const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code;
    this.fields = error?.fields ?? {};
  }
}

/** One API call; state-changing ones carry the session's CSRF token. */
async function api(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 401 && page !== 'login') {
    location.assign('/login');
    throw new ApiError(401, { code: 'ERR_UNAUTHENTICATED', message: 'session ended' });
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error);
  return data;
}

/** Builds an element; string children become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'value') node.value = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const formValues = (form) => Object.fromEntries([...form.querySelectorAll('input[name], textarea[name], select[name]')].map((i) => [i.name, i.value.trim()]));

/** Clears the messages of a form (or of any element holding .field-error / .form-error). */
function clearErrors(scope) {
  for (const e of scope.querySelectorAll('.field-error, .form-error')) e.textContent = '';
  for (const i of scope.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

/** Shows an API error: each field's message beside its input, the rest in the form's .form-error. */
function showError(scope, err) {
  clearErrors(scope);
  let shown = false;
  for (const [field, message] of Object.entries(err.fields ?? {})) {
    const slot = scope.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`);
    if (slot === null) continue;
    slot.textContent = message;
    scope.querySelector(`[name="${CSS.escape(field)}"]`)?.setAttribute('aria-invalid', 'true');
    shown = true;
  }
  if (!shown) {
    const slot = scope.querySelector('.form-error');
    if (slot !== null) slot.textContent = err.message;
    else flash(err.message, true);
  }
}

/** GETs a page's data, or shows why it could not and returns undefined. */
async function loadData(url) {
  try {
    return await api('GET', url);
  } catch (err) {
    flash(err.message, true);
    return undefined;
  }
}

function flash(message, isError = false) {
  let box = document.getElementById('flash');
  if (box === null) {
    box = el('p', { id: 'flash', role: 'status' });
    document.querySelector('main').prepend(box);
  }
  box.className = isError ? 'flash error' : 'flash';
  box.textContent = message;
}

const versionText = (r) => (r.changed.length === 0 ? 'nothing changed' : `route version ${r.version}`);
/** Microseconds as µs, ms or s, three significant digits at most. */
const fmtUs = (us) => (us < 1000 ? `${Math.round(us)} µs` : us < 1e6 ? `${(us / 1000).toPrecision(3)} ms` : `${(us / 1e6).toPrecision(3)} s`);
const fmtTime = (unixSeconds) => new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
/** Time of day only when it is today (UTC), else the full date and time. */
const fmtRecent = (unixSeconds) => {
  const full = fmtTime(unixSeconds);
  return full.slice(0, 10) === fmtTime(Date.now() / 1000).slice(0, 10) ? full.slice(11) : full;
};

/** A button that asks once more ("Confirm …") before it acts. */
function confirmButton(label, confirmLabel, className, action) {
  const button = el('button', { type: 'button', class: className }, label);
  let armed = false;
  button.addEventListener('click', () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      setTimeout(() => {
        armed = false;
        button.textContent = label;
      }, 5000);
      return;
    }
    action();
  });
  return button;
}

const deleteButton = (label, action) => confirmButton(label, 'Confirm delete', 'danger', action);

// ---- common ------------------------------------------------------------------------------

document.getElementById('logout')?.addEventListener('click', async () => {
  try {
    await api('POST', '/api/logout');
  } finally {
    location.assign('/login');
  }
});

// ---- login -------------------------------------------------------------------------------

function loginPage() {
  const form = document.getElementById('login-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    try {
      await api('POST', '/api/login', formValues(form));
      location.assign('/routes');
    } catch (err) {
      showError(form, err);
    }
  });
}

// ---- routes ------------------------------------------------------------------------------

function routesPage() {
  const filterForm = document.getElementById('route-filter');
  const addForm = document.getElementById('add-node');
  const tbody = document.querySelector('#routes-table tbody');
  const params = new URLSearchParams(location.search);
  for (const k of ['modid', 'cmdid']) filterForm.elements[k].value = params.get(k) ?? '';

  const load = async () => {
    const q = new URLSearchParams();
    for (const k of ['modid', 'cmdid']) if (filterForm.elements[k].value.trim() !== '') q.set(k, filterForm.elements[k].value.trim());
    let data;
    try {
      clearErrors(filterForm);
      data = await api('GET', `/api/routes${q.size > 0 ? `?${q}` : ''}`);
    } catch (err) {
      showError(filterForm, err);
      return;
    }
    history.replaceState(null, '', q.size > 0 ? `?${q}` : location.pathname);
    document.getElementById('route-version').textContent = String(data.version);
    tbody.replaceChildren(...data.modules.flatMap((m) => m.hosts.map((h) => nodeRow(m, h))));
    document.getElementById('routes-empty').hidden = tbody.children.length > 0;
    policiesBody.replaceChildren(...data.modules.filter((m) => m.policy).map(policyRow));
    document.getElementById('policies-empty').hidden = policiesBody.children.length > 0;
  };

  const policiesBody = document.querySelector('#policies-table tbody');
  const policyForm = document.getElementById('set-policy');
  const POLICY_KNOBS = ['maxEjectionPercent', 'panicThreshold', 'ejectionBackoffMaxMs', 'zoneOverprovision', 'ringSize'];
  const policyRow = (m) =>
    el(
      'tr',
      { dataset: { module: `${m.modid}/${m.cmdid}` } },
      el('td', {}, String(m.modid)),
      el('td', {}, String(m.cmdid)),
      el('td', {}, m.policy.name),
      // 0 is unset: the agent's setting or the knob's default.
      ...POLICY_KNOBS.map((k) => el('td', { class: 'num' }, m.policy[k] === 0 ? '–' : String(m.policy[k]))),
      el(
        'td',
        { class: 'actions' },
        el('button', {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            policyForm.elements.modid.value = String(m.modid);
            policyForm.elements.cmdid.value = String(m.cmdid);
            policyForm.elements.name.value = m.policy.name;
            for (const k of POLICY_KNOBS) policyForm.elements[k].value = m.policy[k] === 0 ? '' : String(m.policy[k]);
            policyForm.elements.name.focus();
          },
        }, 'Edit'),
        confirmButton('Reset', 'Confirm reset to lars', 'danger', async () => {
          try {
            const r = await api('DELETE', `/api/routes/${m.modid}/${m.cmdid}/policy`);
            flash(`Reset modid ${m.modid} cmdid ${m.cmdid} to policy lars: ${versionText(r)}`);
            await load();
          } catch (err) {
            flash(err.message, true);
          }
        }),
      ),
    );
  policyForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(policyForm);
    const { modid, cmdid, ...policy } = formValues(policyForm);
    try {
      const r = await api('PUT', `/api/routes/${encodeURIComponent(modid)}/${encodeURIComponent(cmdid)}/policy`, policy);
      flash(`Set policy ${policy.name} on modid ${modid} cmdid ${cmdid}: ${versionText(r)}`);
      await load();
    } catch (err) {
      showError(policyForm, err);
    }
  });

  const nodeRow = (m, h) => {
    const path = `/api/routes/nodes/${m.modid}/${m.cmdid}/${encodeURIComponent(h.ip)}/${h.port}`;
    const row = el('tr', { dataset: { node: `${m.modid}/${m.cmdid}/${h.ip}:${h.port}` } });
    const show = () => {
      row.replaceChildren(
        el('td', {}, String(m.modid)),
        el('td', {}, String(m.cmdid)),
        el('td', {}, h.ip),
        el(
          'td',
          {},
          String(h.port),
          // A registered node: its instance renews the lease; removing it only lasts until the next renewal.
          h.lease ? el('span', { class: 'lease', title: `registered by its instance (ttl ${h.lease.ttlMs} ms); a Delete lasts until its next renewal, Pin makes it static` }, ` leased, expires ${new Date(h.lease.expiresAt).toLocaleTimeString()}`) : '',
        ),
        // The API leaves out the defaults: weight 100, no zone.
        el('td', { class: 'num' }, String(h.weight ?? 100)),
        el('td', {}, h.zone ?? ''),
        el(
          'td',
          { class: 'actions' },
          h.lease
            ? el('button', {
                type: 'button',
                class: 'secondary',
                onclick: async () => {
                  try {
                    await api('POST', `${path}/pin`);
                    flash(`Pinned ${h.ip}:${h.port}: a static node now, it no longer expires`);
                    await load();
                  } catch (err) {
                    flash(err.message, true);
                  }
                },
              }, 'Pin')
            : '',
          el('button', { type: 'button', class: 'secondary', onclick: edit }, 'Edit'),
          deleteButton('Delete', async () => {
            try {
              const r = await api('DELETE', path);
              flash(`Deleted ${h.ip}:${h.port} from modid ${m.modid} cmdid ${m.cmdid}: ${versionText(r)}`);
              await load();
            } catch (err) {
              flash(err.message, true);
            }
          }),
        ),
      );
    };
    const edit = () => {
      const ip = el('input', { name: 'ip', value: h.ip, size: 15, 'aria-label': 'ip' });
      const port = el('input', { name: 'port', value: String(h.port), size: 6, inputmode: 'numeric', 'aria-label': 'port' });
      const weight = el('input', { name: 'weight', value: String(h.weight ?? 100), size: 6, inputmode: 'numeric', 'aria-label': 'weight' });
      const zone = el('input', { name: 'zone', value: h.zone ?? '', size: 12, 'aria-label': 'zone' });
      const error = el('p', { class: 'form-error', role: 'alert' });
      const save = async () => {
        try {
          const r = await api('PUT', path, { ip: ip.value.trim(), port: port.value.trim(), weight: weight.value.trim(), zone: zone.value.trim() });
          flash(`Changed ${h.ip}:${h.port} to ${ip.value.trim()}:${port.value.trim()}: ${versionText(r)}`);
          await load();
        } catch (err) {
          showError(row, err);
        }
      };
      for (const input of [ip, port, weight, zone]) input.addEventListener('keydown', (ev) => ev.key === 'Enter' && save());
      row.replaceChildren(
        el('td', {}, String(m.modid)),
        el('td', {}, String(m.cmdid)),
        el('td', {}, ip, el('span', { class: 'field-error', dataset: { for: 'ip' } })),
        el('td', {}, port, el('span', { class: 'field-error', dataset: { for: 'port' } })),
        el('td', {}, weight, el('span', { class: 'field-error', dataset: { for: 'weight' } })),
        el('td', {}, zone, el('span', { class: 'field-error', dataset: { for: 'zone' } })),
        el('td', { class: 'actions' }, el('button', { type: 'button', onclick: save }, 'Save'), el('button', { type: 'button', class: 'secondary', onclick: show }, 'Cancel'), error),
      );
      ip.focus();
    };
    show();
    return row;
  };

  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  document.getElementById('route-filter-clear').addEventListener('click', () => {
    filterForm.reset();
    load();
  });
  addForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(addForm);
    const v = formValues(addForm);
    try {
      const r = await api('POST', '/api/routes/nodes', v);
      flash(`Added ${v.ip}:${v.port} to modid ${v.modid} cmdid ${v.cmdid}: ${versionText(r)}`);
      for (const k of ['ip', 'port', 'weight', 'zone']) addForm.elements[k].value = '';
      await load();
    } catch (err) {
      showError(addForm, err);
    }
  });
  load();
}

// ---- modules (descriptions) --------------------------------------------------------------

function modulesPage() {
  const load = async () => {
    const data = await loadData('/api/descriptions');
    if (data === undefined) return;
    for (const kind of ['modid', 'cmdid']) {
      const tbody = document.querySelector(`#${kind}-table tbody`);
      tbody.replaceChildren(...data[kind].map((d) => descriptionRow(kind, d)));
      document.getElementById(`${kind}-empty`).hidden = data[kind].length > 0;
    }
  };

  const descriptionRow = (kind, d) => {
    const path = `/api/descriptions/${kind}/${d.id}`;
    const row = el('tr', { dataset: { id: String(d.id) } });
    const show = () => {
      row.replaceChildren(
        el('td', {}, String(d.id)),
        el('td', { class: 'content' }, d.content),
        el(
          'td',
          { class: 'actions' },
          el('button', { type: 'button', class: 'secondary', onclick: edit }, 'Edit'),
          deleteButton('Delete', async () => {
            try {
              await api('DELETE', path);
              flash(`Deleted the description of ${kind} ${d.id}`);
              await load();
            } catch (err) {
              flash(err.message, true);
            }
          }),
        ),
      );
    };
    const edit = () => {
      const content = el('input', { name: 'content', value: d.content, maxlength: 1024, class: 'wide', 'aria-label': 'description' });
      const save = async () => {
        try {
          await api('PUT', path, { content: content.value });
          flash(`Saved the description of ${kind} ${d.id}`);
          await load();
        } catch (err) {
          showError(row, err);
        }
      };
      content.addEventListener('keydown', (ev) => ev.key === 'Enter' && save());
      row.replaceChildren(
        el('td', {}, String(d.id)),
        el('td', {}, content, el('span', { class: 'field-error', dataset: { for: 'content' } })),
        el('td', { class: 'actions' }, el('button', { type: 'button', onclick: save }, 'Save'), el('button', { type: 'button', class: 'secondary', onclick: show }, 'Cancel'), el('p', { class: 'form-error', role: 'alert' })),
      );
      content.focus();
    };
    show();
    return row;
  };

  for (const form of document.querySelectorAll('form.add-description')) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const kind = form.dataset.kind;
      try {
        const d = await api('POST', `/api/descriptions/${kind}`, formValues(form));
        flash(`Added the description of ${kind} ${d.id}`);
        form.reset();
        await load();
      } catch (err) {
        showError(form, err);
      }
    });
  }
  load();
}

// ---- history -----------------------------------------------------------------------------

function historyPage() {
  const nodeText = (n) => `${n.ip}:${n.port}${n.weight === undefined ? '' : ` w${n.weight}`}${n.zone === undefined ? '' : ` ${n.zone}`}`;
  const policyText = (p) => (p === null ? 'lars (default)' : p.name);
  /** The audit row's diff as lines: + added, − removed, old → new for an edited node. */
  const diffCell = (c) => {
    const a = c.audit;
    if (a === undefined) return el('td', { class: 'diff muted' }, 'not audited');
    const lines = [];
    if (a.kind === 'revert') lines.push(el('div', { class: 'diff-note' }, `revert of audit #${a.revertOf}`));
    for (const n of a.added) lines.push(el('div', { class: 'diff-add' }, `+ ${nodeText(n)}`));
    for (const n of a.removed) lines.push(el('div', { class: 'diff-remove' }, `− ${nodeText(n)}`));
    for (const e of a.edited) lines.push(el('div', { class: 'diff-edit' }, `${nodeText(e.from)} → ${nodeText(e.to)}`));
    if (a.policy !== undefined) lines.push(el('div', { class: 'diff-edit' }, `policy ${policyText(a.policy.before)} → ${policyText(a.policy.after)}`));
    const states = el(
      'details',
      {},
      el('summary', {}, `${a.before?.length ?? '?'} → ${a.after.length} nodes`),
      el('div', { class: 'diff-states' }, el('div', {}, el('strong', {}, 'before'), ...(a.before ?? []).map((n) => el('div', {}, nodeText(n)))), el('div', {}, el('strong', {}, 'after'), ...a.after.map((n) => el('div', {}, nodeText(n))))),
    );
    return el('td', { class: 'diff' }, ...lines, states);
  };
  const actionsCell = (c) => {
    if (c.audit?.before === undefined) return el('td', { class: 'actions' });
    return el(
      'td',
      { class: 'actions' },
      confirmButton('Revert this change', 'Confirm revert', 'secondary', async () => {
        try {
          const r = await api('POST', `/api/history/${c.audit.id}/revert`);
          flash(`Reverted change ${c.id} (modid ${c.modid} cmdid ${c.cmdid}): ${versionText(r)}`);
          await load();
        } catch (err) {
          flash(err.message, true);
        }
      }),
    );
  };
  const load = async () => {
    const data = await loadData('/api/history?limit=200');
    if (data === undefined) return;
    document.getElementById('history-version').textContent = String(data.version);
    const tbody = document.querySelector('#history-table tbody');
    tbody.replaceChildren(
      ...data.changes.map((c) =>
        el(
          'tr',
          { dataset: { change: String(c.id) } },
          el('td', {}, String(c.id)),
          el('td', {}, String(c.modid)),
          el('td', {}, String(c.cmdid)),
          el('td', {}, String(c.version)),
          el('td', { class: 'time' }, fmtTime(c.audit === undefined ? c.version : c.audit.atMs / 1000)),
          el('td', { class: 'who' }, c.audit?.actor ?? ''),
          diffCell(c),
          actionsCell(c),
        ),
      ),
    );
    document.getElementById('history-empty').hidden = data.changes.length > 0;
  };
  document.getElementById('history-refresh').addEventListener('click', load);
  load();
}

// ---- live status (Call status and Alarms pages) -------------------------------------------

/**
 * Opens the /api/status/live WebSocket and hands each message to handlers[type]; reconnects with
 * a growing delay while the session lives, and keeps `badge` saying how the connection is.
 */
function liveStatus(badge, handlers) {
  let retryMs = 500;
  const connect = () => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/status/live`);
    ws.addEventListener('open', () => {
      retryMs = 500;
      badge.textContent = 'live';
      badge.className = 'badge ok';
    });
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'update') {
        badge.textContent = m.storeUp ? 'live' : 'store unreachable';
        badge.className = m.storeUp ? 'badge ok' : 'badge bad';
      }
      handlers[m.type]?.(m);
    });
    ws.addEventListener('close', (ev) => {
      if (ev.code === 4001) {
        location.assign('/login');
        return;
      }
      badge.textContent = 'reconnecting…';
      badge.className = 'badge';
      setTimeout(async () => {
        // A refused upgrade looks like any closed socket: ask the API whether the session still exists.
        try {
          await api('GET', '/api/session');
        } catch {
          return;
        }
        connect();
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    });
  };
  connect();
}

/** modid / cmdid descriptions, for titles: loaded once per page, then `onLoad` runs. */
function loadDescriptions(onLoad) {
  const descriptions = { modid: new Map(), cmdid: new Map() };
  api('GET', '/api/descriptions')
    .then((d) => {
      for (const kind of ['modid', 'cmdid']) for (const x of d[kind]) descriptions[kind].set(x.id, x.content);
      onLoad();
    })
    .catch(() => undefined);
  /** "modid M · cmdid C" and, when described, " — names" as a muted span. */
  return (mk) => {
    const [modid, cmdid] = mk.split('/').map(Number);
    const parts = [`modid ${modid} · cmdid ${cmdid}`];
    const names = [descriptions.modid.get(modid), descriptions.cmdid.get(cmdid)].filter((x) => x !== undefined && x !== '');
    if (names.length > 0) parts.push(el('span', { class: 'muted' }, ` — ${names.join(' / ')}`));
    return parts;
  };
}

// ---- call status (live) ------------------------------------------------------------------

function statusPage() {
  const container = document.getElementById('status-modules');
  const badge = document.getElementById('live-state');
  const rows = new Map(); // key → row
  const series = new Map(); // "modid/cmdid" → {t, rate, errPct}
  const sections = new Map(); // "modid/cmdid" → {section, tbody, chart, plot}
  const moduleTitle = loadDescriptions(() => {
    for (const [mk, s] of sections) s.title.replaceChildren(...moduleTitle(mk));
  });

  // The server's moduleKey() (src/wire/module-key.ts), which keys the chart series: the rows'
  // ids come from the store, already unsigned.
  const moduleOf = (r) => `${r.modid}/${r.cmdid}`;
  const byModule = (a, b) => {
    const [am, ac] = a.split('/').map(Number);
    const [bm, bc] = b.split('/').map(Number);
    return am - bm || ac - bc;
  };
  const ipNum = (ip) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

  const chartData = (s) => [s.t, s.rate, s.errPct, s.avgUs];

  const sectionFor = (mk) => {
    let s = sections.get(mk);
    if (s !== undefined) return s;
    const title = el('h2', {}, ...moduleTitle(mk));
    const chart = el('div', { class: 'chart' });
    const tbody = el('tbody');
    const table = el(
      'table',
      { class: 'data status' },
      el('thead', {}, el('tr', {}, el('th', {}, 'node'), el('th', {}, 'caller'), el('th', { class: 'num' }, 'success'), el('th', { class: 'num' }, 'failure'), el('th', { class: 'num' }, 'avg call time'), el('th', { class: 'num' }, 'max call time'), el('th', {}, 'overloaded'), el('th', {}, 'reported'))),
      tbody,
    );
    const section = el('section', { class: 'module', dataset: { module: mk } }, title, el('div', { class: 'module-body' }, chart, table));
    s = { section, tbody, chart, title, plot: undefined };
    sections.set(mk, s);
    const keys = [...sections.keys()].sort(byModule);
    const next = keys[keys.indexOf(mk) + 1];
    container.insertBefore(section, next === undefined ? null : sections.get(next).section);
    return s;
  };

  const drawChart = (mk) => {
    const s = sectionFor(mk);
    const data = series.get(mk) ?? { t: [], rate: [], errPct: [], avgUs: [] };
    if (typeof window.uPlot !== 'function') return;
    if (s.plot === undefined) {
      s.plot = new window.uPlot(
        {
          width: 400,
          height: 150,
          legend: { show: true },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, rate: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] }, pct: { range: [0, 100] }, us: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.1)] } },
          series: [
            {},
            { label: 'calls/s', scale: 'rate', stroke: '#1f8a4c', fill: 'rgba(31,138,76,0.08)', width: 2, value: (_u, v) => (v === null ? '–' : v.toFixed(1)) },
            { label: 'errors %', scale: 'pct', stroke: '#c62f2f', width: 2, spanGaps: false, value: (_u, v) => (v === null ? '–' : `${v.toFixed(1)}%`) },
            // Drawn on its own hidden scale: the legend gives the value under the cursor.
            { label: 'avg call time', scale: 'us', stroke: '#2f5fc6', width: 1, dash: [4, 3], spanGaps: false, value: (_u, v) => (v === null || v === undefined ? '–' : fmtUs(v)) },
          ],
          axes: [{ stroke: '#555' }, { scale: 'rate', stroke: '#555', size: 50 }, { scale: 'pct', side: 1, stroke: '#c62f2f', size: 50, values: (_u, ticks) => ticks.map((v) => `${v}%`) }],
        },
        chartData(data),
        s.chart,
      );
    } else {
      s.plot.setData(chartData(data));
    }
  };

  const renderRows = (mk, changedKeys = new Set()) => {
    const s = sectionFor(mk);
    const list = [...rows.values()].filter((r) => moduleOf(r) === mk).sort((a, b) => ipNum(a.ip) - ipNum(b.ip) || a.port - b.port || ipNum(a.caller) - ipNum(b.caller));
    if (list.length === 0) {
      s.plot?.destroy();
      s.section.remove();
      sections.delete(mk);
      return;
    }
    const rowOf = (r) =>
      el(
        'tr',
        { dataset: { key: r.key }, class: [r.overload ? 'overloaded' : '', changedKeys.has(r.key) ? 'changed' : ''].join(' ').trim() || undefined },
        el('td', {}, `${r.ip}:${r.port}`),
        el('td', {}, r.caller),
        el('td', { class: 'num' }, String(r.succCnt)),
        el('td', { class: 'num' }, String(r.errCnt)),
        // The window's timed calls only (ServerCallTime); none timed: no call time.
        el('td', { class: 'num usetime-avg' }, r.usetime ? fmtUs(r.usetime.sumUs / r.usetime.timedCalls) : '–'),
        el('td', { class: 'num usetime-max' }, r.usetime ? fmtUs(r.usetime.maxUs) : '–'),
        el('td', {}, el('span', { class: r.overload ? 'badge bad' : 'badge ok' }, r.overload ? 'yes' : 'no')),
        el('td', { class: 'time', title: fmtTime(r.ts) }, fmtRecent(r.ts)),
      );
    // A route whose nodes carry zones (RouteNodeAttr) is shown zone by zone, each under a line
    // with its healthy share: the failover picture of docs/zones.md.
    s.tbody.replaceChildren(...(list.some((r) => r.zone !== undefined) ? zoneGroups(list).flatMap((g) => [zoneHead(g), ...g.rows.map(rowOf)]) : list.map(rowOf)));
  };

  /** The module's rows by zone (zones in name order, nodes without one last), each zone with its
   * nodes counted once (a node is reported by every agent that calls it) and the healthy ones: a
   * node is healthy when no agent reports it overloaded. */
  const zoneGroups = (list) => {
    const groups = new Map();
    for (const r of list) {
      const zone = r.zone ?? '';
      let g = groups.get(zone);
      if (g === undefined) groups.set(zone, (g = { zone, rows: [], overloaded: new Map() }));
      g.rows.push(r);
      const node = `${r.ip}:${r.port}`;
      g.overloaded.set(node, (g.overloaded.get(node) ?? false) || r.overload);
    }
    return [...groups.values()]
      .sort((a, b) => Number(a.zone === '') - Number(b.zone === '') || a.zone.localeCompare(b.zone))
      .map((g) => ({ zone: g.zone, rows: g.rows, nodes: g.overloaded.size, healthy: [...g.overloaded.values()].filter((o) => !o).length }));
  };

  const zoneHead = (g) => {
    const share = g.healthy / g.nodes;
    return el(
      'tr',
      { class: 'zone-head', dataset: { zone: g.zone } },
      el(
        'th',
        { colspan: 8 },
        g.zone === '' ? 'no zone' : `zone ${g.zone}`,
        ' ',
        el('span', { class: `badge ${share === 1 ? 'ok' : share === 0 ? 'bad' : 'warn'} zone-healthy` }, `${Math.round(share * 100)}% healthy`),
        el('span', { class: 'muted' }, ` ${g.healthy} of ${g.nodes} node${g.nodes === 1 ? '' : 's'}`),
      ),
    );
  };

  const updateEmpty = () => {
    document.getElementById('status-empty').hidden = rows.size > 0;
  };

  const onSnapshot = (m) => {
    rows.clear();
    series.clear();
    for (const s of sections.values()) {
      s.plot?.destroy();
      s.section.remove();
    }
    sections.clear();
    for (const r of m.rows) rows.set(r.key, r);
    for (const [mk, s] of Object.entries(m.series)) series.set(mk, { t: [...s.t], rate: [...s.rate], errPct: [...s.errPct], avgUs: [...s.avgUs] });
    const modules = [...new Set(m.rows.map(moduleOf))].sort(byModule);
    for (const mk of modules) {
      renderRows(mk);
      drawChart(mk);
    }
    updateEmpty();
  };

  const onUpdate = (m) => {
    const touched = new Set();
    const changedKeys = new Set();
    for (const key of m.remove) {
      const r = rows.get(key);
      if (r === undefined) continue;
      rows.delete(key);
      touched.add(moduleOf(r));
    }
    for (const r of m.upsert) {
      rows.set(r.key, r);
      changedKeys.add(r.key);
      touched.add(moduleOf(r));
    }
    for (const [mk, [rate, errPct, avgUs]] of Object.entries(m.points)) {
      let s = series.get(mk);
      if (s === undefined) series.set(mk, (s = { t: [], rate: [], errPct: [], avgUs: [] }));
      s.t.push(m.t);
      s.rate.push(rate);
      s.errPct.push(errPct);
      s.avgUs.push(avgUs);
      // Keep what the server keeps: the last 10 minutes.
      while (s.t.length > 0 && s.t[0] < m.t - 600) {
        s.t.shift();
        s.rate.shift();
        s.errPct.shift();
        s.avgUs.shift();
      }
    }
    for (const mk of touched) renderRows(mk, changedKeys);
    for (const mk of Object.keys(m.points)) if (sections.has(mk)) drawChart(mk);
    updateEmpty();
  };

  liveStatus(badge, { snapshot: onSnapshot, update: onUpdate });
}

// ---- alarms (live) -----------------------------------------------------------------------

function alarmsPage() {
  const tbody = document.querySelector('#alarms-table tbody');
  const form = document.getElementById('set-threshold');
  let alarms = [];
  const moduleTitle = loadDescriptions(() => render());
  const pct = (x) => `${(Math.round(x * 1000) / 10).toString()}%`;
  const duration = (seconds) => {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  };
  let serverSkew = 0; // server time − this browser's time, seconds: "for how long" uses the server's clock

  const render = () => {
    const now = Date.now() / 1000 + serverSkew;
    tbody.replaceChildren(
      ...alarms.map((a) =>
        el(
          'tr',
          { dataset: { module: a.key } },
          el('td', {}, ...moduleTitle(a.key)),
          el('td', { class: 'time', title: fmtTime(a.since) }, `${fmtRecent(a.since)} (${duration(now - a.since)})`),
          el('td', { class: 'num' }, `${pct(a.errorRatio)} of ${a.calls}`),
          el('td', { class: 'num' }, `${a.overloadedNodes} of ${a.nodes}`),
          el('td', { class: 'reasons' }, ...a.reasons.map((r) => el('div', {}, r))),
          el('td', { class: 'muted' }, `${pct(a.thresholds.errorRatio)} / ${pct(a.thresholds.overloadedShare)}${a.thresholds.own ? '' : ' (default)'}`),
        ),
      ),
    );
    document.getElementById('alarms-empty').hidden = alarms.length > 0;
  };
  const onAlarms = (m) => {
    serverSkew = m.t - Date.now() / 1000;
    alarms = m.alarms;
    render();
  };
  // "for how long" moves on between polls too.
  setInterval(render, 5000);

  const loadThresholds = async () => {
    const data = await loadData('/api/alarms');
    if (data === undefined) return;
    document.getElementById('default-error-ratio').textContent = pct(data.defaults.errorRatio);
    document.getElementById('default-overloaded-share').textContent = pct(data.defaults.overloadedShare);
    const rows = document.querySelector('#thresholds-table tbody');
    rows.replaceChildren(
      ...data.thresholds.map((t) =>
        el(
          'tr',
          { dataset: { module: `${t.modid}/${t.cmdid}` } },
          el('td', {}, String(t.modid)),
          el('td', {}, String(t.cmdid)),
          el('td', { class: 'num' }, pct(t.errorRatio)),
          el('td', { class: 'num' }, pct(t.overloadedShare)),
          el(
            'td',
            { class: 'actions' },
            deleteButton('Use defaults', async () => {
              try {
                await api('DELETE', `/api/alarms/thresholds/${t.modid}/${t.cmdid}`);
                flash(`modid ${t.modid} cmdid ${t.cmdid} uses the default thresholds again`);
                await loadThresholds();
              } catch (err) {
                flash(err.message, true);
              }
            }),
          ),
        ),
      ),
    );
    document.getElementById('thresholds-empty').hidden = data.thresholds.length > 0;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const v = formValues(form);
    try {
      await api('PUT', `/api/alarms/thresholds/${encodeURIComponent(v.modid)}/${encodeURIComponent(v.cmdid)}`, { errorRatio: v.errorRatio, overloadedShare: v.overloadedShare });
      flash(`Saved the thresholds of modid ${v.modid} cmdid ${v.cmdid}`);
      form.reset();
      await loadThresholds();
    } catch (err) {
      showError(form, err);
    }
  });

  loadThresholds();
  liveStatus(document.getElementById('live-state'), { snapshot: onAlarms, update: onAlarms });
}

const PAGES = { login: loginPage, routes: routesPage, modules: modulesPage, history: historyPage, status: statusPage, alarms: alarmsPage };
PAGES[page]?.();
