// ferry's dashboard: plain JavaScript, no dependencies. Every call goes to the server that served
// the page, by a URL relative to it (so it works under a reverse proxy's path prefix), through
// the public API: POST v2/repository/index, GET v2/models/{m} (+ /config, /routing), POST
// .../infer and .../predict, GET v2/streams, the repository's load/unload, PUT .../routing, and
// GET v2/figures for the live figures.
'use strict';

const base = location.pathname.replace(/ui\/?$/, '').replace(/[^/]*$/, '');
const HISTORY = 120;  // seconds of figures kept for the charts
const state = {
  token: sessionStorage.getItem('ferry-token') || '',
  models: [],          // the repository index: [{name, version, state, reason}]
  figures: new Map(),  // "name" -> latest figures of its newest version
  history: new Map(),  // "name" -> [{t, rps, err, p99}]
  total: [],           // [{t, rps}] over all models
  control: false,      // may this caller load, unload, set weights
  selected: null,
  metadata: null,
  tryMode: null,
  tryChosen: false,    // the try-it mode was picked by hand
};

// ---- helpers ---------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
const $ = (id) => document.getElementById(id);
const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));
const modelPath = (name) => 'v2/models/' + encodeURIComponent(name);

function headers(extra = {}) {
  const h = { ...extra };
  if (state.token) h.Authorization = 'Bearer ' + state.token;
  return h;
}

// One call of the API: {status, ok, json, text, ms}. A 401 asks for a token.
async function api(method, path, body, extraHeaders = {}) {
  const init = { method, headers: headers(extraHeaders) };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Blob ? body : JSON.stringify(body);
    if (!(body instanceof Blob)) init.headers['Content-Type'] = 'application/json';
  }
  const started = performance.now();
  let response;
  try {
    response = await fetch(base + path, init);
  } catch (e) {
    notice('ferry does not answer: ' + e.message);
    return { status: 0, ok: false, json: null, text: String(e), ms: 0 };
  }
  const text = await response.text();
  const ms = performance.now() - started;
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (response.status === 401) notice('ferry wants a token for ' + path + ': enter one above.');
  return { status: response.status, ok: response.ok, json, text, ms };
}

function notice(text) {
  const n = $('notice');
  n.textContent = text || '';
  n.hidden = !text;
}

// ---- models, streams, readiness --------------------------------------------------------------

async function refreshIndex() {
  const [index, ready, server] = await Promise.all([
    api('POST', 'v2/repository/index', {}), api('GET', 'v2/health/ready'), api('GET', 'v2')]);
  if (server.ok && server.json) $('server-version').textContent = `${server.json.name} ${server.json.version}`;
  const badge = $('ready');
  badge.textContent = ready.ok ? 'ready' : 'not ready';
  badge.className = 'badge ' + (ready.ok ? 'ok' : 'bad');
  badge.title = ready.ok ? '' : (ready.json && ready.json.error) || '';
  if (!index.ok || !Array.isArray(index.json)) return;
  notice('');
  state.models = index.json;
  renderModels();
  refreshStreams();
}

// The newest version of each model, with the others' states folded in.
function modelRows() {
  const byName = new Map();
  for (const m of state.models) {
    const seen = byName.get(m.name);
    if (!seen || Number(m.version) > Number(seen.version)) byName.set(m.name, m);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function renderModels() {
  const body = $('models').tBodies[0];
  body.replaceChildren(...modelRows().map((m) => {
    const stateCell = el('td', {}, el('span', { class: 'badge state-' + m.state, text: m.state }));
    if (m.reason) stateCell.append(el('span', { class: 'reason', text: m.reason }));
    const row = el('tr', { 'data-model': m.name, class: m.name === state.selected ? 'selected' : '',
                           onclick: () => select(m.name) },
      el('td', { text: m.name }), el('td', { text: m.version || '' }), stateCell);
    for (const key of ['requests_per_s', 'errors_per_s', 'p50_ms', 'p99_ms', 'queue_depth', 'batch_size']) {
      row.append(el('td', { class: 'num', 'data-figure': key }));
    }
    return row;
  }));
  renderFigures();
}

async function refreshStreams() {
  const answer = await api('GET', 'v2/streams');
  const streams = (answer.ok && answer.json && answer.json.streams) || [];
  $('streams-section').hidden = streams.length === 0;
  $('streams').tBodies[0].replaceChildren(...streams.map((s) => {
    const lag = (s.partitions || []).reduce((sum, p) => sum + (Number(p.lag) || 0), 0);
    return el('tr', {},
      el('td', { text: s.name }),
      el('td', {}, el('span', { class: 'badge ' + (s.state === 'running' ? 'ok' : 'bad'), text: s.state })),
      el('td', { text: `${s.source || ''} → ${s.model || ''} → ${s.sink || ''}` }),
      el('td', { class: 'num', text: String(lag) }),
      el('td', { class: 'reason', text: s.reason || '' }));
  }));
}

// ---- live figures ----------------------------------------------------------------------------

async function refreshFigures() {
  const answer = await api('GET', 'v2/figures');
  if (!answer.ok || !answer.json) return;
  const report = answer.json;
  setControl(Boolean(report.control));
  const now = report.time_ms / 1000;
  const newest = new Map();
  for (const f of report.models) {
    const seen = newest.get(f.name);
    if (!seen || f.version > seen.version) newest.set(f.name, f);
  }
  state.figures = newest;
  if (report.interval_s > 0) {
    let total = 0;
    for (const [name, f] of newest) {
      total += f.requests_per_s;
      const h = state.history.get(name) || [];
      h.push({ t: now, rps: f.requests_per_s, err: f.errors_per_s, p99: f.p99_ms });
      while (h.length > HISTORY) h.shift();
      state.history.set(name, h);
    }
    state.total.push({ t: now, rps: total });
    while (state.total.length > HISTORY) state.total.shift();
  }
  renderFigures();
}

function renderFigures() {
  for (const row of $('models').tBodies[0].rows) {
    const f = state.figures.get(row.dataset.model);
    for (const cell of row.querySelectorAll('[data-figure]')) {
      const key = cell.dataset.figure;
      const value = f ? f[key] : null;
      cell.textContent = key === 'queue_depth' ? (f ? String(value) : '–')
        : fmt(value, key.endsWith('_ms') ? 2 : 1);
    }
  }
  drawChart($('overview-chart'), state.total, [{ key: 'rps', color: '--accent' }]);
  if (state.selected) {
    drawChart($('model-chart'), state.history.get(state.selected) || [],
      [{ key: 'rps', color: '--accent' }, { key: 'err', color: '--bad' }, { key: 'p99', color: '--warn', own: true }]);
  }
}

// A line chart of the last HISTORY seconds; a series with `own` gets its own scale (right axis).
function drawChart(canvas, points, series) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, pad = 22;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#687385';
  if (points.length < 2) {
    ctx.fillText('waiting for figures…', pad, h / 2);
    return;
  }
  const t1 = points[points.length - 1].t, t0 = t1 - HISTORY;
  const x = (t) => pad + (w - 2 * pad) * (t - t0) / HISTORY;
  const shared = Math.max(1, ...series.filter((s) => !s.own).flatMap((s) => points.map((p) => p[s.key] || 0)));
  ctx.fillText(fmt(shared, shared < 10 ? 1 : 0) + '/s', 2, 12);
  for (const s of series) {
    const top = s.own ? Math.max(1, ...points.map((p) => p[s.key] || 0)) : shared;
    if (s.own) ctx.fillText(fmt(top, 1) + ' ms', w - 48, 12);
    ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue(s.color).trim();
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    for (const p of points) {
      if (p[s.key] === null || p[s.key] === undefined) { started = false; continue; }
      const px = x(p.t), py = h - pad - (h - 2 * pad) * p[s.key] / top;
      if (started) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      started = true;
    }
    ctx.stroke();
  }
}

// ---- one model -------------------------------------------------------------------------------

async function select(name) {
  if (state.selected !== name) {
    $('control-result').textContent = '';
    $('routing-result').textContent = '';
    state.tryChosen = false;
  }
  state.selected = name;
  for (const row of $('models').tBodies[0].rows) row.classList.toggle('selected', row.dataset.model === name);
  $('detail').hidden = false;
  $('detail-name').textContent = name;
  const [metadata, config] = await Promise.all([api('GET', modelPath(name)), api('GET', modelPath(name) + '/config')]);
  if (state.selected !== name) return;
  state.metadata = metadata.ok ? metadata.json : null;
  const entry = state.models.find((m) => m.name === name);
  $('detail-summary').textContent = state.metadata
    ? `${state.metadata.platform || ''} · versions ${(state.metadata.versions || []).join(', ')}`
    : (metadata.json && metadata.json.error) || (entry && entry.reason) || 'not available';
  $('config').textContent = config.ok ? JSON.stringify(config.json, null, 2) : (config.json && config.json.error) || '';
  renderSignature();
  renderTry();
  refreshRouting();
  renderFigures();
}

function renderSignature() {
  const rows = [];
  const m = state.metadata || {};
  for (const [kind, list] of [['input', m.inputs], ['output', m.outputs]]) {
    for (const t of list || []) {
      rows.push(el('tr', {}, el('td', { class: 'muted', text: kind }), el('td', { text: t.name }),
        el('td', { text: t.datatype }), el('td', { text: JSON.stringify(t.shape) })));
    }
  }
  for (const f of m.record_fields || []) {
    rows.push(el('tr', {}, el('td', { class: 'muted', text: 'field' }), el('td', { text: f.name }),
      el('td', { text: f.type + (f.required ? '' : ' (optional)') }), el('td', {})));
  }
  $('signature').tBodies[0].replaceChildren(...rows);
}

// ---- try it ----------------------------------------------------------------------------------

function tryModes() {
  const m = state.metadata || {};
  const modes = [];
  if ((m.record_fields || []).length) modes.push(['record', 'Record']);
  if ((m.inputs || []).length) modes.push(['tensors', 'Tensors']);
  modes.push(['json', 'JSON']);
  return modes;
}

function renderTry() {
  const modes = tryModes();
  // The first mode the model offers, unless the person picked one for this model.
  if (!state.tryChosen || !modes.some(([k]) => k === state.tryMode)) state.tryMode = modes[0][0];
  $('try-modes').replaceChildren(...modes.map(([key, label]) => el('button', {
    type: 'button', role: 'tab', 'aria-selected': String(key === state.tryMode), 'data-mode': key,
    onclick: () => { state.tryMode = key; state.tryChosen = true; renderTry(); } }, label)));
  const form = $('try-form');
  form.replaceChildren();
  const m = state.metadata || {};
  if (state.tryMode === 'record') {
    for (const f of m.record_fields) {
      const numeric = f.type === 'number' || f.type === 'integer';
      form.append(el('label', { for: 'field-' + f.name, text: f.name }),
        el('input', { id: 'field-' + f.name, name: f.name, 'data-type': f.type, inputmode: numeric ? 'decimal' : null,
                      placeholder: f.type + (f.required ? '' : ', optional') }));
    }
  } else if (state.tryMode === 'tensors') {
    for (const t of m.inputs) {
      const shape = t.shape.map((d) => (d < 0 ? 1 : d));
      const count = shape.reduce((a, b) => a * b, 1);
      form.append(el('label', { for: 'tensor-' + t.name, text: t.name }),
        el('input', { id: 'shape-' + t.name, value: JSON.stringify(shape), title: 'shape', 'aria-label': 'shape of ' + t.name }),
        el('span', { class: 'hint', text: `${t.datatype}, shape ${JSON.stringify(t.shape)}; values as a JSON list (flat or nested)` }),
        el('textarea', { id: 'tensor-' + t.name, name: t.name, rows: 3, class: 'wide' },
          JSON.stringify(t.datatype === 'BYTES' ? Array(count).fill('') : Array(count).fill(0))));
      if (t.datatype === 'BYTES') {
        form.append(el('label', { for: 'file-' + t.name, text: 'or a file' }),
          el('input', { id: 'file-' + t.name, type: 'file', 'data-input': t.name }));
      }
    }
  } else {
    form.append(el('textarea', { id: 'raw-body', rows: 10, class: 'wide' }, JSON.stringify(sampleBody(), null, 2)));
  }
  form.append(el('button', { type: 'submit', class: 'primary wide', id: 'try-send' },
    state.tryMode === 'record' ? 'Predict' : 'Infer'));
  $('try-answer').hidden = true;
}

// A V2 request of zeros, or a record of empty fields, to start from.
function sampleBody() {
  const m = state.metadata || {};
  if ((m.record_fields || []).length) return Object.fromEntries(m.record_fields.map((f) => [f.name, null]));
  return { inputs: (m.inputs || []).map((t) => {
    const shape = t.shape.map((d) => (d < 0 ? 1 : d));
    return { name: t.name, shape, datatype: t.datatype, data: Array(shape.reduce((a, b) => a * b, 1)).fill(0) };
  }) };
}

function recordFromForm() {
  const record = {};
  for (const input of $('try-form').querySelectorAll('input[data-type]')) {
    const text = input.value.trim();
    if (text === '') continue;  // left out: the pipeline says whether it is required
    const type = input.dataset.type;
    if (type === 'number' || type === 'integer') record[input.name] = Number.isNaN(Number(text)) ? text : Number(text);
    else if (type === 'boolean') record[input.name] = text === 'true' ? true : text === 'false' ? false : text;
    else record[input.name] = text;
  }
  return record;
}

async function tensorsFromForm() {
  const m = state.metadata || {};
  const inputs = [];
  const binary = [];
  for (const t of m.inputs) {
    const shape = JSON.parse($('shape-' + t.name).value);
    const file = $('file-' + t.name);
    if (file && file.files.length) {  // a file for a BYTES input: sent as binary tensor data
      const bytes = new Uint8Array(await file.files[0].arrayBuffer());
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, bytes.length, true);
      binary.push(length, bytes);
      inputs.push({ name: t.name, shape: [1], datatype: 'BYTES', parameters: { binary_data_size: bytes.length + 4 } });
      continue;
    }
    inputs.push({ name: t.name, shape, datatype: t.datatype, data: JSON.parse($('tensor-' + t.name).value).flat(Infinity) });
  }
  return { body: { inputs }, binary };
}

async function send(event) {
  event.preventDefault();
  const name = state.selected;
  let path, body, binary = [];
  try {
    if (state.tryMode === 'record') {
      path = modelPath(name) + '/predict';
      body = recordFromForm();
    } else if (state.tryMode === 'tensors') {
      path = modelPath(name) + '/infer';
      ({ body, binary } = await tensorsFromForm());
    } else {
      body = JSON.parse($('raw-body').value);
      path = modelPath(name) + (Array.isArray(body.inputs) ? '/infer' : '/predict');
    }
  } catch (e) {
    return showAnswer({ status: 0, ok: false, json: { error: 'not valid JSON: ' + e.message }, ms: 0 }, path, body);
  }
  let answer;
  if (binary.length) {
    const header = new TextEncoder().encode(JSON.stringify(body));
    answer = await api('POST', path, new Blob([header, ...binary]),
      { 'Inference-Header-Content-Length': String(header.length), 'Content-Type': 'application/octet-stream' });
  } else {
    answer = await api('POST', path, body);
  }
  showAnswer(answer, path, body);
}

function showAnswer(answer, path, body) {
  $('try-answer').hidden = false;
  const status = $('try-status');
  status.textContent = answer.status ? String(answer.status) : 'error';
  status.className = 'badge ' + (answer.ok ? 'ok' : 'bad');
  $('try-latency').textContent = answer.ms ? `${answer.ms.toFixed(1)} ms in the browser` : '';
  $('try-body').textContent = answer.json ? JSON.stringify(answer.json, null, 2) : answer.text;
  markFieldErrors(answer.json);
  const url = new URL(base + (path || ''), location.href).href;
  const json = JSON.stringify(body === undefined ? {} : body);
  const auth = state.token ? ` \\\n  -H "Authorization: Bearer $FERRY_TOKEN"` : '';
  $('try-curl').textContent = `curl -s -X POST '${url}' \\\n  -H 'Content-Type: application/json'${auth} \\\n  -d '${json.replaceAll("'", "'\\''")}'`;
  $('try-python').textContent = [
    'import requests',
    '',
    `body = ${json}`,
    `answer = requests.post("${url}", json=body${state.token ? ',\n                       headers={"Authorization": "Bearer " + token}' : ''})`,
    'print(answer.status_code, answer.json())',
  ].join('\n');
}

// A record's rejection names its fields: mark them in the form.
function markFieldErrors(json) {
  const form = $('try-form');
  for (const old of form.querySelectorAll('.field-error')) old.remove();
  for (const input of form.querySelectorAll('input.invalid')) input.classList.remove('invalid');
  if (!json) return;
  const rejected = json.errors ? json : (json.predictions || []).find((p) => p && p.errors);
  for (const e of (rejected && rejected.errors) || []) {
    const input = form.querySelector(`input[name="${CSS.escape(e.field || '')}"]`);
    if (!input) continue;
    input.classList.add('invalid');
    input.after(el('span', { class: 'field-error', text: e.reason }));
  }
}

// ---- routing and control ---------------------------------------------------------------------

async function refreshRouting() {
  const name = state.selected;
  const answer = await api('GET', modelPath(name) + '/routing');
  if (state.selected !== name) return;
  const card = $('routing');
  card.hidden = !answer.ok;
  if (!answer.ok) return;
  const r = answer.json;
  const weighted = r.kind === 'split';
  $('routes').tBodies[0].replaceChildren(...(r.routes || []).map((route) => el('tr', {},
    el('td', { text: route.name }), el('td', { text: route.target }),
    el('td', { class: 'num' }, weighted && state.control
      ? el('input', { type: 'number', min: 0, step: 'any', value: String(route.weight), 'data-route': route.name })
      : (route.weight === undefined ? '' : String(route.weight))),
    el('td', { text: route.ready ? 'yes' : 'no' }),
    el('td', { class: 'num', text: String(route.requests ?? '') }),
    el('td', { class: 'num', text: String(route.errors ?? '') }),
    el('td', { class: 'arm', text: armText(route) }))));
  $('routing-extra').textContent = `${r.kind}${r.policy ? ' · ' + r.policy : ''}` +
    ((r.shadows || []).length ? ` · shadows: ${r.shadows.map((s) => s.name).join(', ')}` : '');
  $('apply-weights').hidden = !(weighted && state.control);
}

// What a bandit learnt about an arm: its pulls, mean reward and chance of being the best.
function armText(route) {
  if (route.pulls === undefined) return '';
  const parts = [`${route.pulls} pulls`];
  if (route.mean_reward !== undefined && route.mean_reward !== null) parts.push(`reward ${fmt(route.mean_reward, 2)}`);
  if (route.probability_best !== undefined) parts.push(`P(best) ${fmt(route.probability_best, 2)}`);
  return parts.join(' · ');
}

async function applyWeights() {
  const weights = {};
  for (const input of $('routes').querySelectorAll('input[data-route]')) weights[input.dataset.route] = Number(input.value);
  const answer = await api('PUT', modelPath(state.selected) + '/routing', { weights });
  $('routing-result').textContent = answer.ok ? 'applied' : (answer.json && answer.json.error) || answer.text;
  if (answer.ok) refreshRouting();
}

function setControl(allowed) {
  if (state.control === allowed) return;
  state.control = allowed;
  $('control').hidden = !allowed;
  if (state.selected) refreshRouting();
}

async function control(action) {
  const name = state.selected;
  $('control-result').textContent = action + 'ing…';
  const answer = await api('POST', `v2/repository/models/${encodeURIComponent(name)}/${action}`, {});
  $('control-result').textContent = answer.ok ? `${action}ed` : (answer.json && answer.json.error) || answer.text;
  await refreshIndex();
  if (state.selected === name) select(name);
}

// ---- start -----------------------------------------------------------------------------------

$('token').value = state.token;
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  state.token = $('token').value.trim();
  sessionStorage.setItem('ferry-token', state.token);
  notice('');
  refreshIndex();
  refreshFigures();
  if (state.selected) select(state.selected);
});
$('try-form').addEventListener('submit', send);
$('load').addEventListener('click', () => control('load'));
$('unload').addEventListener('click', () => control('unload'));
$('apply-weights').addEventListener('click', applyWeights);
$('control').hidden = true;

refreshIndex();
refreshFigures();
setInterval(refreshFigures, 1000);
setInterval(refreshIndex, 3000);
