// kubeward dashboard: the page. Plain JavaScript, no framework; the DOM is built with
// createElement and textContent only (nothing is parsed as HTML). Every call goes to the
// dashboard's own /api/, which acts with the signed-in person's credential.
'use strict';

const state = { config: null, csrf: '', watch: null, user: null, out: false };
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const META = 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json';
const PAGE = 100;

// ---- DOM helpers ----------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (id) => document.getElementById(id);
function show(...nodes) { $('main').replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false)); }
function verbs(list, cls) { return list.map((v) => h('span', { class: cls || 'verb' }, v)); }

// ---- talking to the dashboard ------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ('HTTP ' + status));
    this.status = status; this.body = body || {};
  }
}

async function api(method, path, body, opts = {}) {
  const headers = { Accept: opts.accept || 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = state.csrf;
  let payload;
  if (body !== undefined) {
    if (typeof body === 'string') { payload = body; headers['Content-Type'] = opts.type || 'application/yaml'; }
    else { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
  }
  const r = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { message: text }; }
  if (!r.ok) {
    const err = new ApiError(r.status, data);
    if (r.status === 401 && !opts.quiet401) signedOut(err.message);
    throw err;
  }
  return data;
}

function apiPath(g, v, ns, res, name) {
  let p = g === 'core' || g === '' ? '/api/' + v : '/apis/' + g + '/' + v;
  if (ns && ns !== '_') p += '/namespaces/' + encodeURIComponent(ns);
  p += '/' + res;
  if (name) p += '/' + encodeURIComponent(name);
  return p;
}

// ---- errors and "why" -----------------------------------------------------------------------
// Shows a failure with the server's Status message; for a 403, asks the dashboard why.
function failure(err, attempt) {
  const box = h('div', { class: 'error', 'data-status': String(err.status || '') },
    h('strong', {}, 'The server refused' + (err.body && err.body.reason ? ' (' + err.body.reason + ', ' + err.status + ')' : '') + ': '),
    h('div', { class: 'message', id: 'status-message' }, err.message));
  if (err.status === 403 && attempt) {
    const why = h('div', { class: 'why', id: 'why' }, h('em', {}, 'Finding out why…'));
    box.append(why);
    api('POST', '/api/explain', Object.assign({ message: err.message }, attempt)).then((x) => {
      const parts = [h('strong', {}, 'Why: ')];
      parts.push(h('div', {}, 'The server ' + (x.allowed ? 'now allows' : 'does not allow') + ' you to ' + attempt.verb + ' ' +
        attempt.resource + (attempt.namespace ? ' in namespace ' + attempt.namespace : '') + '.' +
        (x.reason ? ' Reason: ' + x.reason : '')));
      if (x.admission) parts.push(h('div', {}, 'Refused by: ' + x.admission));
      const held = new Set();
      for (const r of x.rulesHere || []) for (const v of r.verbs || []) held.add(v + ((r.resourceNames || []).length ? ' (only ' + r.resourceNames.join(', ') + ')' : ''));
      parts.push(h('div', {}, held.size ? ['Your rules on ' + attempt.resource + ' here: ', verbs([...held])] :
        'You hold no rule on ' + attempt.resource + ' here.'));
      if (x.rulesIncomplete) parts.push(h('div', { class: 'muted' }, 'An authorizer could not list every rule (incomplete).'));
      if (x.rbac) parts.push(h('div', { class: 'message' }, 'RBAC: ' + x.rbac));
      if (x.bindings && x.bindings.length) {
        parts.push(h('div', {}, 'Bindings that name you: ', x.bindings.map((b) => h('span', { class: 'verb' }, b.binding + ' → ' + b.role))));
      }
      if (x.rbacUnreadable) parts.push(h('div', { class: 'muted' }, x.rbacUnreadable));
      why.replaceChildren(...parts);
    }).catch((e) => why.replaceChildren('Could not ask why: ' + e.message));
  }
  return box;
}

// ---- sign-in ---------------------------------------------------------------------------------
// The first 401 of a signed-in page says why the session ended; requests in flight then, or
// sent once its cookie was cleared, answer 401 too ("Sign in first."): they keep the first
// reason on the page. Signing out on purpose (`force`) always says so.
function signedOut(message, force) {
  stopWatch();
  if (state.out && !force) return;
  state.out = true;
  state.csrf = ''; state.user = null;
  if (state.config && state.config.mode === 'desktop' && !state.config.proxied) {
    show(h('div', { class: 'error' }, message || 'Not signed in.'));
    return;
  }
  state.signinMessage = message;
  if (location.hash !== '#/signin') location.hash = '#/signin';
  else renderSignin(message);
}

function renderSignin(message) {
  $('signout').hidden = true; $('me').textContent = ''; $('nav').replaceChildren();
  const token = h('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: 'Bearer token' });
  const err = h('div', { id: 'signin-error' });
  if (message) err.append(h('div', { class: 'error' }, message));
  const form = h('form', { class: 'card', id: 'token-form', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/api/signin/token', { token: token.value }, { quiet401: true });
      token.value = '';
      await start('#/');
    } catch (x) { err.replaceChildren(h('div', { class: 'error' }, x.message)); }
  } }, h('h2', {}, 'Sign in with a token'), h('p', { class: 'muted' }, 'Paste a bearer token once; it stays on the dashboard\'s side.'),
  token, h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit', id: 'token-submit' }, 'Sign in')));
  const oidc = state.config && state.config.oidc ?
    h('div', { class: 'card' }, h('h2', {}, 'Sign in with your identity provider'),
      h('a', { class: 'button primary', href: '/oidc/start', id: 'oidc-signin' }, 'Sign in with OpenID Connect')) : null;
  show(h('div', { class: 'signin' }, h('h1', {}, 'Sign in to kubeward'), err, oidc, form));
}

// ---- pages ---------------------------------------------------------------------------------
async function pageHome() {
  const [me, ns] = await Promise.all([api('GET', '/api/whoami'), api('GET', '/api/namespaces')]);
  const u = me.userInfo || {};
  const extra = Object.entries(u.extra || {}).map(([k, v]) => h('div', {}, k + ': ' + v.join(', ')));
  const who = h('div', { class: 'card', id: 'whoami' }, h('h2', {}, 'Who am I'), h('dl', {},
    h('dt', {}, 'User'), h('dd', { id: 'whoami-user' }, u.username || ''),
    h('dt', {}, 'UID'), h('dd', {}, u.uid || ''),
    h('dt', {}, 'Groups'), h('dd', { id: 'whoami-groups' }, (u.groups || []).join(', ')),
    h('dt', {}, 'Extra'), h('dd', {}, extra.length ? extra : '—'),
    h('dt', {}, 'Signed in with'), h('dd', { id: 'whoami-credential' }, me.credential),
    h('dt', {}, 'API server'), h('dd', {}, me.server)));
  const items = (ns.items || []).map((n) => h('a', { class: 'card ns', href: '#/ns/' + encodeURIComponent(n), 'data-ns': n }, n));
  const note = ns.canList ? null : h('div', { class: 'warn', id: 'ns-note' },
    'You may not list namespaces (' + ns.listRefused + '). ',
    ns.source === 'server' ? 'Shown: the namespaces where the server finds rules of yours.' :
      ['Shown: the namespaces where you hold rules, among ', (ns.probed || []).join(', ') || 'none', '.']);
  const name = h('input', { id: 'open-ns', placeholder: 'namespace name' });
  const open = h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await api('POST', '/api/namespaces/open', { name: name.value });
      if (r.reachable) location.hash = '#/ns/' + encodeURIComponent(r.name);
      else openMsg.replaceChildren(h('div', { class: 'warn' }, 'You hold no rule in ' + r.name + '.'));
    } catch (x) { openMsg.replaceChildren(failure(x)); }
  } }, name, h('button', { type: 'submit' }, 'Open namespace'));
  const openMsg = h('div');
  show(h('h1', {}, 'Overview'), who,
    h('div', { class: 'card' }, h('h2', {}, 'Namespaces I can reach'), note,
      items.length ? h('div', { class: 'grid', id: 'namespaces' }, items) : h('p', { class: 'muted', id: 'namespaces' }, 'None found.'),
      open, openMsg, h('p', {}, h('a', { href: '#/ns/_' }, 'Cluster-scoped resources'))));
}

async function pageNamespace(ns) {
  const r = await api('GET', '/api/resources?namespace=' + encodeURIComponent(ns === '_' ? '' : ns));
  const all = h('input', { type: 'checkbox', id: 'show-all' });
  const rows = r.resources.map((x) => {
    const g = x.group || 'core';
    const link = x.held.includes('list') ?
      h('a', { href: '#/list/' + encodeURIComponent(ns) + '/' + g + '/' + x.version + '/' + x.resource, class: 'resource-link' }, x.resource) : x.resource;
    const named = Object.entries(x.named).map(([v, names]) => h('span', { class: 'verb named' }, v + ': ' + names.join(', ')));
    const tr = h('tr', { 'data-resource': x.resource, class: x.held.length || named.length ? '' : 'noaccess hidden' },
      h('td', {}, link), h('td', {}, x.group || 'core'), h('td', {}, x.kind), h('td', { class: 'held' }, verbs(x.held), named));
    return tr;
  });
  all.addEventListener('change', () => { for (const tr of rows) if (tr.classList.contains('noaccess')) tr.classList.toggle('hidden', !all.checked); });
  const title = ns === '_' ? 'Cluster-scoped resources' : 'Namespace ' + ns;
  show(h('h1', {}, title),
    r.incomplete ? h('div', { class: 'warn', id: 'incomplete' }, 'incomplete: an authorizer could not list every rule, so you may hold more than shown.') : null,
    r.evaluationError ? h('div', { class: 'warn' }, 'Evaluation error: ' + r.evaluationError) : null,
    h('div', { class: 'row' }, h('label', {}, all, ' show resources I hold nothing on'),
      ns === '_' ? null : h('a', { class: 'button', href: '#/create/' + encodeURIComponent(ns), id: 'create-link' }, 'Create from YAML')),
    h('table', { id: 'resources' }, h('tr', {}, h('th', {}, 'Resource'), h('th', {}, 'Group'), h('th', {}, 'Kind'), h('th', {}, 'Verbs I hold')), rows));
}

async function resourceAccess(ns, g, res) {
  const r = await api('GET', '/api/resources?namespace=' + encodeURIComponent(ns === '_' ? '' : ns));
  const x = r.resources.find((x) => (x.group || 'core') === g && x.resource === res);
  return x || { held: [], named: {} };
}

function may(access, verb, name) {
  return access.held.includes(verb) || (name && (access.named[verb] || []).includes(name));
}

async function pageList(ns, g, v, res, params) {
  const labels = params.get('labels') || '';
  const cont = params.get('continue') || '';
  const from = Math.max(0, parseInt(params.get('from') || '0', 10) || 0);
  let q = '?limit=' + PAGE;
  if (labels) q += '&labelSelector=' + encodeURIComponent(labels);
  if (cont) q += '&continue=' + encodeURIComponent(cont);
  const base = '/api/kube' + apiPath(g, v, ns, res);
  // The page and what the person holds on it, asked together.
  const [access, table] = await Promise.all([resourceAccess(ns, g, res), api('GET', base + q, undefined, { accept: TABLE })]);
  const cols = (table.columnDefinitions || []).map((c, i) => [c, i]).filter(([c]) => !c.priority);
  const rows = (table.rows || []).map((row) => {
    const name = row.object && row.object.metadata ? row.object.metadata.name : row.cells[0];
    const rns = row.object && row.object.metadata ? row.object.metadata.namespace : '';
    const objNs = rns || ns;
    return h('tr', { 'data-name': name }, cols.map(([c, i], k) => h('td', {}, k === 0 ?
      h('a', { href: '#/obj/' + encodeURIComponent(objNs) + '/' + g + '/' + v + '/' + res + '/' + encodeURIComponent(name) }, String(row.cells[i])) :
      String(row.cells[i] === undefined ? '' : row.cells[i]))));
  });
  const filter = h('input', { id: 'label-filter', value: labels, placeholder: 'label selector, e.g. app=web' });
  const next = table.metadata && table.metadata.continue;
  // The server counts what is left after a page (remainingItemCount; kube leaves it out of
  // lists filtered by a selector).
  const remaining = table.metadata && typeof table.metadata.remainingItemCount === 'number' ? table.metadata.remainingItemCount : null;
  const mk = (c, at) => '#/list/' + encodeURIComponent(ns) + '/' + g + '/' + v + '/' + res + '?labels=' + encodeURIComponent(filter.value) +
    (c ? '&continue=' + encodeURIComponent(c) + '&from=' + at : '');
  const position = rows.length ? 'rows ' + (from + 1) + '–' + (from + rows.length) + (remaining !== null ? ' of ' + (from + rows.length + remaining) : '') : '';
  show(h('h1', {}, res + (ns === '_' ? '' : ' in ' + ns)),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); location.hash = mk(''); } }, filter, h('button', { type: 'submit' }, 'Filter'),
      may(access, 'create') ? h('a', { class: 'button', href: '#/create/' + encodeURIComponent(ns), id: 'create-link' }, 'Create') : null,
      h('span', { class: 'muted', id: 'watch-state' }, may(access, 'watch') ? 'watching for changes' : 'no watch permission: reload to refresh')),
    h('table', { id: 'list' }, h('tr', {}, cols.map(([c]) => h('th', {}, c.name))), rows),
    h('div', { class: 'row', id: 'paging' }, h('span', { class: 'muted', id: 'count' }, rows.length + ' shown'),
      position ? h('span', { class: 'muted', id: 'position' }, position) : null,
      cont ? h('a', { class: 'button', href: mk('') }, 'First page') : null,
      next ? h('a', { class: 'button', href: mk(next, from + rows.length), id: 'next-page' }, 'Next page') : null,
      next ? h('span', { class: 'muted', id: 'remaining' }, remaining !== null ? remaining + ' more' : 'more on the next page') : null));
  if (may(access, 'watch') && !cont) {
    watch(base + '?watch=1&resourceVersion=' + encodeURIComponent((table.metadata || {}).resourceVersion || '') +
      (labels ? '&labelSelector=' + encodeURIComponent(labels) : ''), () => route());
  }
}

// A watch: any change reloads the page's data (at most every 500 ms).
function watch(path, onChange) {
  stopWatch();
  const ctl = new AbortController();
  state.watch = ctl;
  let timer = null;
  (async () => {
    try {
      const r = await fetch(path, { headers: { Accept: META }, signal: ctl.signal, credentials: 'same-origin' });
      if (!r.ok || !r.body) return;
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i); buf = buf.slice(i + 1);
          if (!line.trim()) continue;
          if (!timer) timer = setTimeout(() => { timer = null; if (state.watch === ctl) onChange(); }, 500);
        }
      }
    } catch (_) { /* aborted or broken: the page still works, without live refresh */ }
  })();
}
function stopWatch() { if (state.watch) { state.watch.abort(); state.watch = null; } }

async function pageObject(ns, g, v, res, name, params) {
  const path = apiPath(g, v, ns, res, name);
  const reveal = params.get('reveal') === '1';
  const access = await resourceAccess(ns, g, res);
  let obj;
  try { obj = await api('GET', '/api/yaml?path=' + encodeURIComponent(path) + (reveal ? '&reveal=1' : '')); } catch (e) {
    show(h('h1', {}, res + '/' + name), failure(e, { verb: 'get', group: g === 'core' ? '' : g, resource: res, namespace: ns === '_' ? '' : ns, name }));
    return;
  }
  const msg = h('div', { id: 'result' });
  const editor = h('textarea', { id: 'yaml', spellcheck: 'false' });
  editor.value = obj.yaml;
  const canEdit = may(access, 'update', name);
  const canDelete = may(access, 'delete', name);
  editor.readOnly = !canEdit || obj.hidden;
  const attempt = (verb) => ({ verb, group: g === 'core' ? '' : g, resource: res, namespace: ns === '_' ? '' : ns, name });
  const save = async (dry) => {
    msg.replaceChildren(h('em', {}, dry ? 'Asking the server for a dry run…' : 'Saving…'));
    try {
      const r = await api('POST', '/api/write?method=PUT&path=' + encodeURIComponent(path) + (dry ? '&dryRun=1' : ''), editor.value);
      if (dry) {
        msg.replaceChildren(h('div', { class: 'ok', id: 'dry-run-ok' }, 'The server accepts this change (dry run; nothing saved).'));
        saveBtn.disabled = false;
      } else {
        editor.value = r.yaml;
        msg.replaceChildren(h('div', { class: 'ok', id: 'saved' }, 'Saved.'));
        saveBtn.disabled = true;
      }
    } catch (e) { msg.replaceChildren(failure(e, attempt('update'))); }
  };
  const dryBtn = h('button', { id: 'dry-run', type: 'button', onclick: () => save(true) }, 'Check (server-side dry run)');
  const saveBtn = h('button', { id: 'save', class: 'primary', type: 'button', disabled: true, onclick: () => save(false) }, 'Save');
  editor.addEventListener('input', () => { saveBtn.disabled = true; });
  const confirmBox = h('div', { class: 'hidden', id: 'confirm-delete' }, h('div', { class: 'warn' }, 'Delete ' + res + ' ' + name + '? This cannot be undone.'),
    h('div', { class: 'row' }, h('button', { class: 'danger', id: 'confirm-delete-yes', type: 'button', onclick: async () => {
      try {
        await api('DELETE', '/api/kube' + path);
        location.hash = '#/list/' + encodeURIComponent(ns) + '/' + g + '/' + v + '/' + res;
      } catch (e) { msg.replaceChildren(failure(e, attempt('delete'))); }
    } }, 'Delete'), h('button', { type: 'button', onclick: () => confirmBox.classList.add('hidden') }, 'Cancel')));
  const revealLink = obj.hidden && may(access, 'get', name) ?
    h('a', { class: 'button', id: 'reveal', href: '#/obj/' + encodeURIComponent(ns) + '/' + g + '/' + v + '/' + res + '/' + encodeURIComponent(name) + '?reveal=1' }, 'Show values') : null;
  show(h('h1', {}, res + '/' + name + (ns === '_' ? '' : ' in ' + ns)),
    h('div', { class: 'row' },
      h('a', { class: 'button', href: '#/list/' + encodeURIComponent(ns) + '/' + g + '/' + v + '/' + res }, 'Back to list'),
      revealLink,
      canEdit && !obj.hidden ? [dryBtn, saveBtn] : null,
      canDelete ? h('button', { class: 'danger', id: 'delete', type: 'button', onclick: () => confirmBox.classList.remove('hidden') }, 'Delete') : null),
    obj.hidden ? h('div', { class: 'muted', id: 'hidden-note' }, 'Secret values are hidden.') : null,
    confirmBox, msg, editor);
}

async function pageCreate(ns) {
  const editor = h('textarea', { id: 'yaml', spellcheck: 'false' });
  editor.value = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: example\n' + (ns && ns !== '_' ? '  namespace: ' + ns + '\n' : '') + 'data:\n  key: value\n';
  const msg = h('div', { id: 'result' });
  const send = async (dry) => {
    msg.replaceChildren(h('em', {}, dry ? 'Asking the server for a dry run…' : 'Creating…'));
    try {
      const r = await api('POST', '/api/write?method=POST&namespace=' + encodeURIComponent(ns === '_' ? '' : ns) + (dry ? '&dryRun=1' : ''), editor.value);
      msg.replaceChildren(h('div', { class: 'ok', id: dry ? 'dry-run-ok' : 'created' }, dry ? 'The server accepts this object (dry run; nothing created).' : 'Created.'));
    } catch (e) {
      const kind = (editor.value.match(/^kind:\s*(\S+)/m) || [])[1] || '';
      msg.replaceChildren(failure(e, { verb: 'create', group: '', resource: kind.toLowerCase() + 's', namespace: ns === '_' ? '' : ns }));
    }
  };
  show(h('h1', {}, 'Create from YAML' + (ns && ns !== '_' ? ' in ' + ns : '')),
    h('div', { class: 'row' }, h('button', { id: 'dry-run', type: 'button', onclick: () => send(true) }, 'Check (server-side dry run)'),
      h('button', { id: 'create', class: 'primary', type: 'button', onclick: () => send(false) }, 'Create')), msg, editor);
}

async function pageAdmin() {
  const f = (id, ph, val) => h('input', { id, placeholder: ph, value: val || '' });
  const verb = f('wc-verb', 'verb', 'get'), res = f('wc-resource', 'resource', 'pods'), group = f('wc-group', 'group (empty: core)'), ns = f('wc-namespace', 'namespace', 'default');
  const wcOut = h('div', { id: 'whocan-result' });
  const user = f('audit-user', 'user'), ons = f('audit-namespace', 'namespace'), ores = f('audit-resource', 'resource'), oname = f('audit-name', 'name');
  const auOut = h('div', { id: 'audit-result' });
  const table = (headers, rows) => h('table', {}, h('tr', {}, headers.map((x) => h('th', {}, x))), rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, String(c))))));
  show(h('h1', {}, 'Admin'),
    h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const q = new URLSearchParams({ verb: verb.value, resource: res.value, group: group.value, namespace: ns.value });
        const r = await api('GET', '/api/whocan?' + q);
        wcOut.replaceChildren(r.items.length ? table(['Kind', 'Subject', 'Binding', 'Role'], r.items.map((i) => [i.kind, i.subject, i.binding, i.role])) : h('p', {}, 'Nobody.'));
      } catch (x) { wcOut.replaceChildren(failure(x)); }
    } }, h('h2', {}, 'Who can'), h('div', { class: 'row' }, verb, res, group, ns, h('button', { type: 'submit', id: 'whocan-go' }, 'Ask')), wcOut),
    h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const q = new URLSearchParams({ user: user.value, namespace: ons.value, resource: ores.value, name: oname.value });
        const r = await api('GET', '/api/audit?' + q);
        auOut.replaceChildren(table(['Time', 'User', 'Verb', 'Resource', 'Namespace', 'Name', 'Code', 'Decision', 'Reason'],
          r.items.map((i) => [i.time, i.user + (i.impersonatedUser ? ' as ' + i.impersonatedUser : ''), i.verb, i.resource, i.namespace, i.name, i.code, i.decision, i.reason])));
      } catch (x) { auOut.replaceChildren(failure(x)); }
    } }, h('h2', {}, 'Audit trail of a user or an object'), h('div', { class: 'row' }, user, ons, ores, oname, h('button', { type: 'submit', id: 'audit-go' }, 'Show')), auOut));
}

// ---- routing -------------------------------------------------------------------------------
function nav() {
  const here = location.hash || '#/';
  const link = (href, text, id) => h('a', { href, id, class: here === href ? 'active' : '' }, text);
  $('nav').replaceChildren(link('#/', 'Overview', 'nav-home'), link('#/admin', 'Admin', 'nav-admin'));
}

async function route() {
  stopWatch();
  const hash = location.hash || '#/';
  const [pathPart, query] = hash.slice(1).split('?');
  const params = new URLSearchParams(query || '');
  const p = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  if (p[0] === 'signin') { if (!state.config) state.config = await api('GET', '/api/config'); renderSignin(state.signinMessage); return; }
  if (!state.csrf) { await start(hash); return; }
  nav();
  try {
    if (p.length === 0) await pageHome();
    else if (p[0] === 'ns' && p.length === 2) await pageNamespace(p[1]);
    else if (p[0] === 'list' && p.length === 5) await pageList(p[1], p[2], p[3], p[4], params);
    else if (p[0] === 'obj' && p.length === 6) await pageObject(p[1], p[2], p[3], p[4], p[5], params);
    else if (p[0] === 'create') await pageCreate(p[1] || '_');
    else if (p[0] === 'admin') await pageAdmin();
    else show(h('p', {}, 'No such page.'));
  } catch (e) {
    if (e.status === 401) return;
    const attempt = p[0] === 'list' ? { verb: 'list', group: p[2] === 'core' ? '' : p[2], resource: p[4], namespace: p[1] === '_' ? '' : p[1] } : null;
    show(failure(e, attempt));
  }
}

async function start(target) {
  const hash = location.hash;
  const launch = hash.startsWith('#launch=') ? hash.slice(8) : null;
  const params = new URLSearchParams(hash.startsWith('#signin-error=') ? hash.slice(1) : '');
  if (launch || params.get('signin-error')) history.replaceState(null, '', '/');
  try {
    if (launch) await api('POST', '/api/signin/launch', { code: launch }, { quiet401: true });
  } catch (e) { state.config = { mode: 'desktop' }; show(h('div', { class: 'error' }, e.message)); return; }
  state.config = await api('GET', '/api/config');
  if (!state.config.signedIn) {
    if (state.config.mode === 'desktop') {
      show(h('div', { class: 'error', id: 'launch-needed' }, state.config.ended || 'Open the launch link `kubeward dashboard` printed to sign in.'));
      return;
    }
    renderSignin(params.get('signin-error') || state.config.ended);
    return;
  }
  state.csrf = state.config.csrfToken;
  state.out = false; state.signinMessage = '';
  $('signout').hidden = !!state.config.proxied;
  // Who is signed in, for the header, asked alongside the first page.
  api('GET', '/api/whoami').then((me) => {
    state.user = me.userInfo;
    $('me').textContent = (me.userInfo || {}).username || '';
  }).catch(() => {});
  if (target && target !== '#/signin' && !target.startsWith('#launch=') && !target.startsWith('#signin-error=')) {
    if (location.hash !== target) { location.hash = target; return; }
  } else if (location.hash !== '#/') { location.hash = '#/'; return; }
  await route();
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  $('signout').addEventListener('click', async () => {
    try { await api('POST', '/api/signout', {}); } catch (_) { /* signed out either way */ }
    state.csrf = '';
    signedOut('Signed out.', true);
  });
  start(location.hash.startsWith('#launch=') ? '#/' : location.hash);
});
