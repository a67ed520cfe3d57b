// Horizon's dashboard: a series browser, fan charts, executions and calibration, drawn with
// uPlot (vendored). No framework and no inline script, so it runs under the API's strict
// Content-Security-Policy. Every value from the API reaches the page as text (textContent),
// never as HTML. The key lives in sessionStorage: it is gone when the tab closes.
'use strict';

const $ = (id) => document.getElementById(id);
const KEY = 'horizon-key';
const PAGE = 50;

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path) {
  const key = sessionStorage.getItem(KEY);
  if (!key) throw new ApiError(401, 'Sign in with an API key first.');
  let r;
  try {
    r = await fetch(path, {headers: {'Authorization': 'Bearer ' + key}});
  } catch (e) {
    throw new ApiError(0, 'The server did not answer (' + e.message + ').');
  }
  let body = null;
  try { body = await r.json(); } catch (e) { /* an empty or non-JSON body */ }
  if (!r.ok) {
    const detail = (body && (body.detail || body.title)) || r.statusText;
    throw new ApiError(r.status, detail);
  }
  return body;
}

const enc = encodeURIComponent;

function showError(e) {
  const box = $('error');
  if (!e) { box.hidden = true; box.textContent = ''; return; }
  let text = e.message;
  if (e.status === 401) {
    text = 'The API key was refused (401): ' + e.message;
    // A refused key is forgotten: the next sign-in starts clean.
    sessionStorage.removeItem(KEY);
    $('key').placeholder = 'hzn_…';
  }
  else if (e.status === 403) text = 'The API key lacks a scope for this (403): ' + e.message;
  else if (e.status === 429) text = 'Too many requests (429): ' + e.message;
  else if (e.status) text = 'Error ' + e.status + ': ' + e.message;
  box.textContent = text;
  box.hidden = false;
}

// ---- small DOM helpers -----------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function table(headers, rows, cls) {
  const t = el('table', {class: cls || ''});
  t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {text: h})))));
  const body = el('tbody');
  for (const r of rows) body.append(el('tr', {}, ...r.map((c) => c instanceof Node ? el('td', {}, c) : el('td', {text: c == null ? '' : String(c)}))));
  t.append(body);
  return t;
}

function banner(text, kind) { return el('div', {class: 'banner ' + (kind || 'warn'), text}); }

const fmtNum = (v) => v == null || !Number.isFinite(v) ? '–' : Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(4)).toString();
const pct = (p) => p == null ? '–' : (100 * p).toFixed(p > 0 && p < 0.01 ? 2 : 1) + '%';
const secs = (iso) => Date.parse(iso) / 1000;

function ago(iso) {
  const s = (Date.now() - Date.parse(iso)) / 1000;
  const abs = Math.abs(s);
  const [n, unit] = abs < 90 ? [abs, 's'] : abs < 5400 ? [abs / 60, 'min'] : abs < 172800 ? [abs / 3600, 'h'] : [abs / 86400, 'days'];
  return s >= 0 ? Math.round(n) + ' ' + unit + ' ago' : 'in ' + Math.round(n) + ' ' + unit;
}

// ---- time: the series' zone for sub-daily steps, the calendar day for daily ones ---------------

const FREQ_SECONDS = {min: 60, h: 3600, d: 86400, w: 604800};
function stepSeconds(freq) {
  const m = /^(\d+)(min|h|d|w)$/.exec(freq || '');
  return m ? Number(m[1]) * FREQ_SECONDS[m[2]] : 86400;
}

function zoneOf(series) {
  const tz = (series.attributes && series.attributes.timezone) || 'UTC';
  try { new Intl.DateTimeFormat('en', {timeZone: tz}); return {tz, known: true}; }
  catch (e) { return {tz: 'UTC', known: false, asked: tz}; }
}

function timeFormat(tz, daily) {
  const f = new Intl.DateTimeFormat('en-GB', daily
    ? {timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric'}
    : {timeZone: tz, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'});
  return (s) => f.format(new Date(s * 1000));
}

function secondFormat(tz) {
  const f = new Intl.DateTimeFormat('en-GB', {timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'});
  return (s) => f.format(new Date(s * 1000));
}

// ---- charts ----------------------------------------------------------------------------------

const COLORS = ['#08519c', '#d94801', '#238b45', '#6a51a3', '#a50f15', '#525252', '#0868ac', '#cc4c02'];

function chartWidth(container) { return Math.max(320, Math.min(1100, container.clientWidth || 900)); }

// A uPlot chart in `container`; the x axis in `tz` (or calendar days), labels recorded on the
// container (`data-x-ticks`, `data-y-label`) so what a reader sees can be checked.
function plot(container, {series, data, bands, yLabel, tz, daily, height, yRange}) {
  // Runs seconds apart (a calibration updated twice in a test) need seconds on the axis.
  const xs = data[0];
  const span = xs.length > 1 ? xs[xs.length - 1] - xs[0] : 0;
  const fmt = !daily && span > 0 && span < 7200 ? secondFormat(tz) : timeFormat(tz, daily);
  const opts = {
    width: chartWidth(container),
    height: height || 380,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), daily ? 'UTC' : tz),
    series: [{label: daily ? 'date' : 'time (' + tz + ')', value: (u, v) => v == null ? '–' : fmt(v)}, ...series],
    bands: bands || [],
    axes: [
      {label: daily ? 'date' : 'time (' + tz + ')', space: daily ? 95 : 115,
        values: (u, splits) => { const v = splits.map(fmt); container.dataset.xTicks = v.join('|'); return v; }},
      {label: yLabel, size: 64, values: (u, splits) => splits.map(fmtNum)},
    ],
    scales: yRange ? {y: {range: yRange}} : {},
    legend: {live: true},
    cursor: {drag: {x: true, y: false}},
  };
  container.dataset.yLabel = yLabel;
  const chart = new uPlot(opts, data, container);
  container.dataset.ready = '1';
  return chart;
}

// One shared x grid for several aligned series: sorted unique instants, each series a value or
// null at every instant.
function align(parts) {
  const xs = Array.from(new Set(parts.flatMap((p) => p.map((pt) => pt[0])))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const cols = parts.map((p) => {
    const col = new Array(xs.length).fill(null);
    for (const [x, y] of p) col[index.get(x)] = Number.isFinite(y) ? y : null;
    return col;
  });
  return [xs, ...cols];
}

// ---- series browser --------------------------------------------------------------------------

let cursor = null;
let searchSeq = 0;

function filterQuery() {
  const p = new URLSearchParams({limit: String(PAGE)});
  const q = $('q').value.trim(), ent = $('f-entity').value.trim(), met = $('f-metric').value.trim(), cls = $('f-class').value;
  if (q) p.set('q', q);
  if (ent) p.set('entity', ent);
  if (met) p.set('metric', met);
  if (cls) p.set('class', cls);
  return p;
}

async function search(more) {
  const seq = ++searchSeq;
  const p = filterQuery();
  if (more && cursor) p.set('cursor', cursor);
  try {
    const page = await api('/v1/series?' + p.toString());
    if (seq !== searchSeq) return; // a newer search is on its way
    if (!more) $('results').replaceChildren();
    for (const s of page.items) {
      const li = el('li', {'data-key': s.key},
        el('a', {href: '#/series/' + enc(s.key), text: s.key}),
        el('span', {class: 'muted', text: ' ' + s.entity + ' · ' + s.metric + (s.unit ? ' (' + s.unit + ')' : '')}));
      $('results').append(li);
    }
    cursor = page.next_cursor || null;
    $('more').hidden = !cursor;
    const n = $('results').children.length;
    $('count').textContent = n === 0 ? 'No series match.' : n + (cursor ? '+' : '') + ' series';
    showError(null);
  } catch (e) { showError(e); }
}

let debounce = null;
function searchSoon() { clearTimeout(debounce); debounce = setTimeout(() => search(false), 200); }

// ---- one series ------------------------------------------------------------------------------

async function seriesView(key) {
  const view = $('view');
  view.replaceChildren(el('p', {class: 'muted', text: 'Loading ' + key + '…'}));
  const [s, f, cls] = await Promise.all([
    api('/v1/series/' + enc(key)),
    // The newest forecast of either kind: after an ad-hoc predict job, its forecast is drawn.
    api('/v1/series/' + enc(key) + '/forecasts/latest?kind=any').catch((e) => { if (e.status === 404) return null; throw e; }),
    api('/v1/series/' + enc(key) + '/classification').catch(() => null),
  ]);
  const zone = zoneOf(s);
  const freq = s.frequency || (f && f.frequency);
  const step = stepSeconds(freq);
  const daily = step >= 86400;
  const unit = s.unit || '';
  const head = el('div', {class: 'series-head'},
    el('h2', {text: s.key}),
    el('p', {class: 'muted', text: [
      'entity ' + s.entity, 'metric ' + s.metric, unit && 'unit ' + unit, freq && 'every ' + freq,
      cls && cls.class && 'class ' + cls.class,
      (s.lower_bound != null || s.upper_bound != null) && 'bounds [' + fmtNum(s.lower_bound) + ', ' + fmtNum(s.upper_bound) + ']',
      !daily && 'time zone ' + zone.tz,
    ].filter(Boolean).join(' · ')}));
  const parts = [head];
  if (!zone.known) parts.push(banner('Time zone "' + zone.asked + '" is unknown to this browser: times are shown in UTC.'));
  if (!f) {
    parts.push(banner('No forecast yet for this series: run the pipeline (horizon-pipeline run) or post a predict job.'));
    view.replaceChildren(...parts);
    return;
  }
  // History: three horizons before the first step; actuals: values for the forecast's own
  // steps, which arrived after it was issued (it used everything before its first step).
  const first = secs(f.steps[0].target_at);
  const from = new Date((first - 3 * f.horizon * step) * 1000).toISOString();
  let obs = [];
  try { obs = (await api('/v1/series/' + enc(key) + '/observations?limit=5000&from=' + enc(from))).items; }
  catch (e) { parts.push(banner('History could not be read: ' + e.message)); }
  const history = obs.filter((o) => secs(o.ts) < first).map((o) => [secs(o.ts), o.value]);
  const actuals = obs.filter((o) => secs(o.ts) >= first).map((o) => [secs(o.ts), o.value]);

  for (const w of f.warnings) parts.push(banner(typeof w === 'string' ? w : w.message));
  const last = secs(f.steps[f.steps.length - 1].target_at);
  if (last * 1000 < Date.now()) {
    const lastSeen = history.length ? timeFormat(zone.tz, daily)(history[history.length - 1][0]) : 'before ' + timeFormat(zone.tz, daily)(first);
    parts.push(banner('Stale: the newest value this forecast had is from ' + lastSeen + ', and its horizon ended ' + ago(f.steps[f.steps.length - 1].target_at) + '. ' + (actuals.length ? actuals.length + ' values for its steps have arrived, and no newer forecast has been made.' : 'No newer data have arrived.')));
  }
  if (history.length === 0) parts.push(banner('No history in the three horizons before the forecast.'));
  if (f.intervals.length === 0) parts.push(banner('This forecast has no 80% or 95% interval (its quantile levels: ' + f.quantile_levels.join(', ') + ').'));

  parts.push(el('p', {class: 'meta'},
    'Issued ' + f.issued_at.replace('T', ' ').replace(/\.\d+/, '') + ' (' + ago(f.issued_at) + '), ' + f.horizon + ' steps',
    f.execution_id ? el('span', {}, ', by execution ', el('a', {href: '#/executions/' + f.execution_id, text: f.execution_id.slice(0, 8)})) : '',
    actuals.length ? ', ' + actuals.length + ' actuals arrived since' : ''));

  // The fan chart.
  const ts = f.steps.map((st) => secs(st.target_at));
  const median = f.quantile_levels.indexOf(0.5);
  const path = (values) => ts.map((t, i) => [t, values[i]]);
  const cols = [history, actuals];
  const series = [
    {label: 'history', stroke: '#252525', width: 1.5},
    {label: 'actual after issue', stroke: '#d94801', width: 1.5, points: {show: true, size: 4}},
  ];
  const bands = [];
  const sorted = f.intervals.slice().sort((a, b) => b.level - a.level);
  const bandFill = {95: 'rgba(33,113,181,0.16)', 80: 'rgba(33,113,181,0.32)'};
  for (const b of sorted) {
    const hi = cols.length + 1;
    cols.push(path(b.upper), path(b.lower));
    series.push({label: b.level + '% upper', stroke: 'rgba(33,113,181,0.5)', width: 0.5},
      {label: b.level + '% lower', stroke: 'rgba(33,113,181,0.5)', width: 0.5});
    bands.push({series: [hi, hi + 1], fill: bandFill[b.level] || 'rgba(33,113,181,0.2)'});
  }
  cols.push(path(f.steps.map((st) => median >= 0 ? st.quantiles[median] : st.mean)));
  series.push({label: median >= 0 ? 'median' : 'mean', stroke: '#08519c', width: 2});
  cols.push(path(f.steps.map((st) => st.mean)));
  series.push({label: 'mean', stroke: '#6baed6', width: 1, dash: [4, 4]});
  const x0 = history.length ? history[0][0] : ts[0];
  const x1 = ts[ts.length - 1];
  // "> 16" or "< 5": which side of the threshold counts as crossing it.
  const side = (t) => (t.direction === 'below' ? '< ' : '> ') + fmtNum(t.threshold);
  f.thresholds.forEach((t, i) => {
    cols.push([[x0, t.threshold], [x1, t.threshold]]);
    series.push({label: 'threshold ' + side(t) + ' (P crossed within horizon ' + pct(t.any_step) + ')',
      stroke: COLORS[(i + 4) % COLORS.length], width: 1.5, dash: [8, 4], spanGaps: true});
  });
  const fan = el('div', {class: 'chart', id: 'fan'});
  fan.dataset.bands = sorted.map((b) => b.level).join(',');
  fan.dataset.thresholds = f.thresholds.map((t) => t.threshold).join(',');
  parts.push(el('h3', {text: 'Forecast'}), fan);

  // Thresholds: probability per step and within the horizon.
  let probs = null;
  if (f.thresholds.length) {
    parts.push(el('h3', {text: 'Threshold crossing'}));
    parts.push(table(['threshold', 'P(crossed at least once within the horizon)', 'highest P at one step', 'first step with P ≥ 50%'],
      f.thresholds.map((t) => {
        const top = Math.max(...t.per_step);
        const firstHalf = t.per_step.findIndex((p) => p >= 0.5);
        return [side(t) + (unit ? ' ' + unit : ''), pct(t.any_step), pct(top),
          firstHalf < 0 ? 'none' : timeFormat(zone.tz, daily)(ts[firstHalf])];
      }), 'thresholds'));
    probs = el('div', {class: 'chart', id: 'exceedance'});
    parts.push(probs);
  }

  // What was known about the future: each covariate's forecast (vintage) and who read it.
  if (f.covariates && f.covariates.length) {
    parts.push(el('h3', {text: 'Covariates used'}));
    parts.push(table(['covariate', 'forecast issued', 'read by'], f.covariates.map((c) => [
      c.name,
      c.issued_at ? timeFormat(zone.tz, false)(secs(c.issued_at)) + ' (' + ago(c.issued_at) + ')' : 'known in advance (observations)',
      c.members.length ? c.members.join(', ') : 'no member with weight',
    ]), 'covariates'));
  }

  // Members.
  parts.push(el('h3', {text: 'Models in the ensemble'}));
  parts.push(table(['model', 'weight', 'why'], f.members.map((m) => [
    m.model,
    el('span', {class: 'weight'}, el('span', {class: 'bar', style: 'width:' + (6 * m.weight).toFixed(2) + 'rem'}), ' ' + pct(m.weight)),
    m.reason,
  ]), 'members'));
  if (f.calibration && Object.keys(f.calibration).length) {
    parts.push(el('details', {}, el('summary', {text: 'Calibration applied'}),
      el('pre', {text: JSON.stringify(f.calibration, null, 2)})));
  }
  view.replaceChildren(...parts);

  const fanData = align(cols);
  plot(fan, {series, data: fanData, bands, tz: zone.tz, daily,
    yLabel: s.metric + (unit ? ' (' + unit + ')' : '')});
  if (probs) {
    const pc = f.thresholds.map((t) => ts.map((x, i) => [x, 100 * t.per_step[i]]));
    plot(probs, {height: 200, tz: zone.tz, daily, yLabel: 'P(value > threshold) %', yRange: [0, 100],
      data: align(pc),
      series: f.thresholds.map((t, i) => ({label: 'P(> ' + fmtNum(t.threshold) + ')', stroke: COLORS[(i + 4) % COLORS.length], width: 2}))});
  }
}

// ---- executions ------------------------------------------------------------------------------

const when = (iso) => iso ? iso.replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC') : '–';
function duration(a, b) {
  if (!a || !b) return '–';
  const s = (Date.parse(b) - Date.parse(a)) / 1000;
  return s < 120 ? s.toFixed(1) + ' s' : (s / 60).toFixed(1) + ' min';
}

function executionTable(items) {
  return items.length === 0 ? el('p', {class: 'muted', text: 'No executions yet.'}) :
    table(['id', 'kind', 'status', 'progress', 'created', 'took', 'error'], items.map((e) => [
      el('a', {href: '#/executions/' + e.id, text: e.id.slice(0, 8)}), e.kind,
      el('span', {class: 'status ' + e.status, text: e.status}), pct(e.progress), when(e.created_at),
      duration(e.started_at, e.finished_at), e.error || '']), 'executions');
}

async function executionsView() {
  const list = await api('/v1/executions?limit=100');
  $('view').replaceChildren(el('h2', {text: 'Executions'}), executionTable(list.items));
}

async function homeView() {
  const list = await api('/v1/executions?limit=5');
  $('view').replaceChildren(
    el('p', {class: 'muted', text: 'Pick a series on the left (search and filters run on the server), or open the executions and the calibration above.'}),
    el('h3', {text: 'Latest executions'}), executionTable(list.items));
}

async function executionView(id) {
  const e = await api('/v1/executions/' + enc(id));
  const parts = [el('h2', {text: e.kind + ' execution ' + e.id}),
    el('p', {class: 'meta'}, el('span', {class: 'status ' + e.status, text: e.status}),
      ' · ' + pct(e.progress) + ' · created ' + when(e.created_at) + ' · took ' + duration(e.started_at, e.finished_at))];
  if (e.error) parts.push(banner(e.error, 'error'));
  parts.push(el('h3', {text: 'Step log'}));
  parts.push(table(['#', 'step', 'status', 'items', 'started', 'took', 'message'], (e.steps || []).map((s) => [
    s.seq, s.name, el('span', {class: 'status ' + s.status, text: s.status}), s.items == null ? '' : s.items,
    when(s.started_at), duration(s.started_at, s.finished_at), s.message || '']), 'steps'));
  if (e.partitions && e.partitions.length) {
    parts.push(el('h3', {text: 'Partitions'}));
    parts.push(table(['#', 'series', 'status', 'attempts', 'workers', 'done', 'error'], e.partitions.map((p) => [
      p.seq, p.series, p.status, p.attempts, p.workers.join(', '), p.series_done, p.error || ''])));
  }
  parts.push(el('details', {}, el('summary', {text: 'Request'}), el('pre', {text: JSON.stringify(e.request, null, 2)})));
  $('view').replaceChildren(...parts);
}

// ---- calibration -----------------------------------------------------------------------------

async function calibrationView() {
  const [now, hist] = await Promise.all([api('/v1/calibration'), api('/v1/calibration/history?limit=500')]);
  const parts = [el('h2', {text: 'Calibration'}),
    el('p', {class: 'muted', text: 'Ensemble weights per series class and model, and the factors that widen (above 1) or narrow the intervals so their coverage meets the nominal level, as the pipeline set them over time.'})];
  if (now.items.length === 0 && now.interval_scales.length === 0) {
    parts.push(el('p', {class: 'muted', text: 'No calibration yet: it is set once forecasts have been scored against outcomes.'}));
  } else {
    parts.push(table(['class', 'model', 'weight', 'score', 'outcomes', 'since'], now.items.map((w) => [
      w.series_class, w.model, pct(w.weight), fmtNum(w.score), w.samples, when(w.effective_at)]), 'weights'));
  }
  const charts = [];
  const classes = Array.from(new Set([...hist.items.map((w) => w.series_class), ...hist.interval_scales.map((s) => s.series_class)])).sort();
  for (const c of classes) {
    const w = hist.items.filter((x) => x.series_class === c);
    const models = Array.from(new Set(w.map((x) => x.model))).sort();
    if (models.length) {
      const box = el('div', {class: 'chart'});
      parts.push(el('h3', {text: c + ': weights over time'}), box);
      charts.push(() => plot(box, {height: 220, tz: 'UTC', daily: false, yLabel: 'weight', yRange: [0, 1],
        data: align(models.map((m) => w.filter((x) => x.model === m).map((x) => [secs(x.effective_at), x.weight]))),
        series: models.map((m, i) => ({label: m, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: {show: true}}))}));
    }
    const sc = hist.interval_scales.filter((x) => x.series_class === c);
    const levels = Array.from(new Set(sc.map((x) => x.level))).sort();
    if (levels.length) {
      const box = el('div', {class: 'chart'});
      parts.push(el('h3', {text: c + ': interval scale over time'}), box);
      charts.push(() => plot(box, {height: 220, tz: 'UTC', daily: false, yLabel: 'scale',
        data: align(levels.map((l) => sc.filter((x) => x.level === l).map((x) => [secs(x.effective_at), x.scale]))),
        series: levels.map((l, i) => ({label: Math.round(100 * l) + '% interval', stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: {show: true}}))}));
    }
  }
  $('view').replaceChildren(...parts);
  charts.forEach((draw) => draw());
}

// ---- routing and sign-in ---------------------------------------------------------------------

async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  if (!sessionStorage.getItem(KEY)) return;
  try {
    // A hand-edited address may hold a malformed escape: that is an error to show, not a crash.
    const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'series' && parts[1]) await seriesView(parts[1]);
    else if (parts[0] === 'executions' && parts[1]) await executionView(parts[1]);
    else if (parts[0] === 'executions') await executionsView();
    else if (parts[0] === 'calibration') await calibrationView();
    else await homeView();
    showError(null);
  } catch (e) {
    showError(e);
    $('view').replaceChildren(el('p', {class: 'muted', text: 'Nothing to show.'}));
  }
}

$('signin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = $('key').value.trim();
  if (!key) { showError(new ApiError(0, 'Paste an API key first.')); return; }
  sessionStorage.setItem(KEY, key);
  $('key').value = '';
  $('key').placeholder = 'signed in (key kept for this tab)';
  search(false);
  route();
});
$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  location.hash = '#/';
  location.reload();
});
$('filters').addEventListener('submit', (ev) => { ev.preventDefault(); search(false); });
for (const id of ['q', 'f-entity', 'f-metric']) $(id).addEventListener('input', searchSoon);
$('f-class').addEventListener('change', () => search(false));
$('more').addEventListener('click', () => search(true));
window.addEventListener('hashchange', route);

if (sessionStorage.getItem(KEY)) {
  $('key').placeholder = 'signed in (key kept for this tab)';
  search(false);
  route();
}
