// The fan-chart page's script. The key is kept in sessionStorage: it lives as long as the tab.
const $ = (id) => document.getElementById(id);
$('key').value = sessionStorage.getItem('horizon-key') || '';
async function api(path) {
  const r = await fetch(path, {headers: {'Authorization': 'Bearer ' + $('key').value.trim()}});
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || r.statusText);
  return body;
}
function show(text, err) { $('msg').textContent = text; $('msg').className = err ? 'err' : ''; }
$('load').onclick = async () => {
  sessionStorage.setItem('horizon-key', $('key').value.trim());
  try {
    const page = await api('/v1/series?limit=500');
    $('series').innerHTML = '';
    for (const s of page.items) {
      const o = document.createElement('option'); o.value = s.key; o.textContent = s.key; $('series').appendChild(o);
    }
    show(page.items.length + ' series'); if (page.items.length) draw(page.items[0].key);
  } catch (e) { show(e.message, true); }
};
$('series').onchange = () => draw($('series').value);
async function draw(key) {
  const svg = $('chart'); svg.innerHTML = '';
  try {
    const f = await api('/v1/series/' + encodeURIComponent(key) + '/forecasts/latest');
    let hist = [];
    // Three horizons of history before the first forecast step (reads are paged and bounded).
    const first = Date.parse(f.steps[0].target_at);
    const step = f.steps.length > 1 ? Date.parse(f.steps[1].target_at) - first : 86400000;
    const from = new Date(first - 3 * f.horizon * step).toISOString();
    try { hist = (await api('/v1/series/' + encodeURIComponent(key) + '/observations?from=' + encodeURIComponent(from))).items; } catch (e) {}
    const xs = hist.map(o => Date.parse(o.ts)).concat(f.steps.map(s => Date.parse(s.target_at)));
    const ys = hist.map(o => o.value).concat(...f.steps.map(s => s.quantiles), f.steps.map(s => s.mean)).filter(Number.isFinite);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const W = 960, H = 420, P = 40;
    const X = t => P + (W - 2 * P) * (t - x0) / Math.max(1, x1 - x0);
    const Y = v => H - P - (H - 2 * P) * (v - y0) / Math.max(1e-9, y1 - y0);
    const ns = 'http://www.w3.org/2000/svg';
    const add = (tag, attrs) => { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); svg.appendChild(e); return e; };
    const line = pts => pts.map((p, i) => (i ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1)).join('');
    const ts = f.steps.map(s => Date.parse(s.target_at));
    const bands = f.intervals.slice().sort((a, b) => b.level - a.level);
    bands.forEach((b, i) => {
      const up = ts.map((t, j) => [X(t), Y(b.upper[j])]), lo = ts.map((t, j) => [X(t), Y(b.lower[j])]).reverse();
      add('path', {d: line(up.concat(lo)) + 'Z', fill: i ? '#6baed6' : '#c6dbef', opacity: 0.8});
    });
    add('path', {d: line(ts.map((t, j) => [X(t), Y(f.steps[j].mean)])), stroke: '#08519c', fill: 'none', 'stroke-width': 2});
    if (hist.length) add('path', {d: line(hist.map(o => [X(Date.parse(o.ts)), Y(o.value)])), stroke: '#333', fill: 'none'});
    add('text', {x: P, y: 20}).textContent = key + ' — issued ' + f.issued_at + ' — bands ' + bands.map(b => b.level + '%').join(', ');
    add('text', {x: 2, y: Y(y1) + 4}).textContent = y1.toPrecision(3);
    add('text', {x: 2, y: Y(y0)}).textContent = y0.toPrecision(3);
    show('');
  } catch (e) { show(e.message, true); }
}
