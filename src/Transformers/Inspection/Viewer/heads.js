(function () {
  'use strict';
  var errors = window.__headsErrors || [];
  var body = document.body;
  function showErrors() {
    var ul = document.getElementById('errors');
    ul.textContent = '';
    errors.forEach(function (e) { var li = document.createElement('li'); li.textContent = 'script error: ' + e; ul.appendChild(li); });
    body.setAttribute('data-errors', String(errors.length));
  }
  window.onerror = function (msg, src, line) { errors.push(String(msg) + ' (line ' + line + ')'); showErrors(); };
  showErrors();
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById('heads-data').textContent);
  var cache = {};
  function tokens(side) { return side === 'source' ? D.source : D.target; }
  function map(ki, l, h) {
    var key = ki + '/' + l + '/' + h;
    var m = cache[key];
    if (!m) {
      var s = atob(D.kinds[ki].maps[l][h]);
      m = new Uint8Array(s.length);
      for (var i = 0; i < s.length; i++) m[i] = s.charCodeAt(i);
      cache[key] = m;
    }
    return m;
  }
  function averaged(ki, l) {
    var key = ki + '/' + l + '/avg';
    if (cache[key]) return cache[key];
    var H = D.kinds[ki].maps[l].length, first = map(ki, 0, 0), acc = new Float64Array(first.length), out = new Uint8Array(first.length);
    for (var h = 0; h < H; h++) { var m = map(ki, l, h); for (var i = 0; i < m.length; i++) acc[i] += (m[i] / 255) * (m[i] / 255); }
    for (var j = 0; j < acc.length; j++) out[j] = Math.round(255 * Math.sqrt(acc[j] / H));
    return (cache[key] = out);
  }
  // White -> blue ramp of a display value v in [0, 1] (v = sqrt(p)).
  function rgb(v) { return [Math.round(255 - v * 225), Math.round(255 - v * 197), Math.round(255 - v * 117)]; }
  var state = { ki: 0, l: 0, h: 0, focus: null };

  // ---------------------------------------------------------------- model view
  var mapsDrawn = 0, mapCanvases = [];
  function drawSmall(canvas, m, rows, cols) {
    var S = 48, sr = Math.min(rows, S), sc = Math.min(cols, S);
    canvas.width = sc; canvas.height = sr;
    var ctx = canvas.getContext('2d'), img = ctx.createImageData(sc, sr), px = img.data;
    for (var y = 0; y < sr; y++) {
      var r0 = Math.floor(y * rows / sr), r1 = Math.max(r0 + 1, Math.floor((y + 1) * rows / sr));
      for (var x = 0; x < sc; x++) {
        var c0 = Math.floor(x * cols / sc), c1 = Math.max(c0 + 1, Math.floor((x + 1) * cols / sc)), best = 0;
        for (var r = r0; r < r1; r++) for (var c = c0; c < c1; c++) { var q = m[r * cols + c]; if (q > best) best = q; }
        var col = rgb(best / 255), o = (y * sc + x) * 4;
        px[o] = col[0]; px[o + 1] = col[1]; px[o + 2] = col[2]; px[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  function buildModelView() {
    var root = document.getElementById('grids');
    D.kinds.forEach(function (k, ki) {
      var rows = tokens(k.queries).length, cols = tokens(k.keys).length;
      var block = document.createElement('div'); block.className = 'grid-block';
      var h3 = document.createElement('h3'); h3.textContent = k.label; block.appendChild(h3);
      var grid = document.createElement('div'); grid.className = 'grid';
      grid.setAttribute('data-kind', k.kind);
      grid.setAttribute('data-layers', String(k.maps.length));
      grid.setAttribute('data-heads', String(k.heads));
      grid.style.gridTemplateColumns = '56px repeat(' + k.heads + ', 58px)';
      grid.appendChild(document.createElement('span'));
      for (var h = 0; h < k.heads; h++) { var s = document.createElement('span'); s.className = 'lab'; s.textContent = 'head ' + h; grid.appendChild(s); }
      k.maps.forEach(function (heads, l) {
        var lab = document.createElement('span'); lab.className = 'lab'; lab.textContent = 'layer ' + l; grid.appendChild(lab);
        heads.forEach(function (_, h) {
          var c = document.createElement('canvas');
          c.className = 'map'; c.title = k.label + ', layer ' + l + ', head ' + h;
          c.setAttribute('data-kind', k.kind); c.setAttribute('data-layer', String(l)); c.setAttribute('data-head', String(h));
          drawSmall(c, map(ki, l, h), rows, cols);
          mapsDrawn++;
          c.addEventListener('click', function () { select(ki, l, h, true); });
          mapCanvases.push({ el: c, ki: ki, l: l, h: h });
          grid.appendChild(c);
        });
      });
      block.appendChild(grid);
      root.appendChild(block);
    });
    body.setAttribute('data-maps-drawn', String(mapsDrawn));
  }

  // ---------------------------------------------------------------- head view
  var selKind = document.getElementById('sel-kind'), selLayer = document.getElementById('sel-layer'), selHead = document.getElementById('sel-head');
  var headCanvas = document.getElementById('head-canvas');
  var geo = null;
  function option(sel, value, text) { var o = document.createElement('option'); o.value = String(value); o.textContent = text; sel.appendChild(o); }
  function fillSelectors() {
    selKind.textContent = ''; selLayer.textContent = ''; selHead.textContent = '';
    D.kinds.forEach(function (k, i) { option(selKind, i, k.label); });
    var k = D.kinds[state.ki];
    k.maps.forEach(function (_, l) { option(selLayer, l, String(l)); });
    for (var h = 0; h < k.maps[state.l].length; h++) option(selHead, h, String(h));
    selKind.value = String(state.ki); selLayer.value = String(state.l); selHead.value = String(state.h);
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }
  function drawHead() {
    var started = performance.now();
    var all = document.getElementById('avg-heads').checked;
    var k = D.kinds[state.ki], q = tokens(k.queries), kt = tokens(k.keys), m = all ? averaged(state.ki, state.l) : map(state.ki, state.l, state.h);
    var n = Math.max(q.length, kt.length), rh = n <= 48 ? 20 : n <= 128 ? 15 : 12, font = rh <= 12 ? 10 : rh <= 15 ? 11 : 13;
    var dpr = window.devicePixelRatio || 1, W = 620, colW = 170, top = 10;
    var H = top * 2 + n * rh;
    headCanvas.width = Math.round(W * dpr); headCanvas.height = Math.round(H * dpr);
    headCanvas.style.width = W + 'px'; headCanvas.style.height = H + 'px';
    var ctx = headCanvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    var xl = colW, xr = W - colW;
    geo = { rh: rh, top: top, xl: xl, xr: xr, W: W, nq: q.length, nk: kt.length };
    var f = state.focus;
    // Lines, bucketed by opacity so that even 512 x 512 candidates cost a few dozen strokes.
    var buckets = [], B = 32, hash = 2166136261 ^ (state.ki * 131 + state.l * 17 + state.h), drawn = 0;
    for (var b = 0; b < B; b++) buckets.push([]);
    var minQ = f ? 1 : 40;                       // q >= 40 means p >= 0.0246; with a focus every line shows
    for (var i = 0; i < q.length; i++) {
      if (f && f.side === 'q' && f.i !== i) continue;
      var row = i * kt.length;
      for (var j = 0; j < kt.length; j++) {
        if (f && f.side === 'k' && f.i !== j) continue;
        var v = m[row + j];
        if (v < minQ) continue;
        var bucket = Math.min(B - 1, Math.floor(v * v / 65025 * B));
        buckets[bucket].push(i, j);
        hash = Math.imul(hash ^ (i * 7919 + j * 104729 + v), 16777619) >>> 0;
        drawn++;
      }
    }
    for (b = 0; b < B; b++) {
      var list = buckets[b];
      if (!list.length) continue;
      // Thickness and opacity both grow with the probability (bucket b holds p in [b/B, (b+1)/B)).
      ctx.lineWidth = 0.6 + 3.4 * (b + 0.5) / B;
      ctx.strokeStyle = 'rgba(29,78,216,' + Math.min(1, 0.08 + (b + 0.5) / B).toFixed(3) + ')';
      ctx.beginPath();
      for (var t = 0; t < list.length; t += 2) {
        ctx.moveTo(xl + 6, top + (list[t] + 0.5) * rh);
        ctx.lineTo(xr - 6, top + (list[t + 1] + 0.5) * rh);
      }
      ctx.stroke();
    }
    ctx.font = font + 'px system-ui, "DejaVu Sans", sans-serif';
    ctx.textBaseline = 'middle';
    function label(text, x, y, align, hi, weight) {
      if (hi) { ctx.fillStyle = '#dbeafe'; ctx.fillRect(align === 'right' ? x - colW + 8 : x, y - rh / 2 + 1, colW - 8, rh - 2); }
      ctx.fillStyle = weight > 0 ? 'rgba(29,78,216,' + (0.35 + 0.65 * weight).toFixed(3) + ')' : '#1f2937';
      ctx.textAlign = align;
      ctx.fillText(clip(text, 22), align === 'right' ? x - 2 : x + 2, y);
    }
    for (i = 0; i < q.length; i++) label(q[i], xl, top + (i + 0.5) * rh, 'right', f && f.side === 'q' && f.i === i, 0);
    for (j = 0; j < kt.length; j++) {
      var w = f && f.side === 'q' ? Math.pow(m[f.i * kt.length + j] / 255, 2) : 0;
      label(kt[j], xr, top + (j + 0.5) * rh, 'left', f && f.side === 'k' && f.i === j, w);
    }
    body.setAttribute('data-selected', k.kind + '/' + state.l + '/' + (all ? 'all' : state.h));
    body.setAttribute('data-lines-drawn', String(drawn));
    body.setAttribute('data-drawn-hash', (hash >>> 0).toString(16));
    body.setAttribute('data-head-ms', (performance.now() - started).toFixed(1));
    document.getElementById('head-info').textContent = k.label + ' · layer ' + state.l + (all ? ' · all heads averaged' : ' · head ' + state.h) + ' · ' + drawn + ' lines' +
      (f ? ' · focus: ' + (f.side === 'q' ? q[f.i] : kt[f.i]) : ' (p ≥ 0.025)');
  }
  headCanvas.addEventListener('mousemove', function (e) {
    if (!geo) return;
    var r = headCanvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
    var i = Math.floor((y - geo.top) / geo.rh), side = x < geo.W / 2 ? 'q' : 'k', n = side === 'q' ? geo.nq : geo.nk;
    var f = i >= 0 && i < n ? { side: side, i: i } : null, old = state.focus;
    if ((f && old && f.side === old.side && f.i === old.i) || (!f && !old)) return;
    state.focus = f; drawHead();
  });
  headCanvas.addEventListener('mouseleave', function () { if (state.focus) { state.focus = null; drawHead(); } });

  // ---------------------------------------------------------------- matrix view
  var matrixCanvas = document.getElementById('matrix-canvas'), avg = document.getElementById('avg-heads');
  function drawMatrix() {
    var k = D.kinds[state.ki], q = tokens(k.queries), kt = tokens(k.keys);
    var m = avg.checked ? averaged(state.ki, state.l) : map(state.ki, state.l, state.h);
    var n = Math.max(q.length, kt.length), cell = Math.max(1, Math.min(22, Math.floor(520 / n)));
    var labels = cell >= 8, lab = labels ? 90 : 4, dpr = window.devicePixelRatio || 1;
    var W = lab + kt.length * cell + 4, H = lab + q.length * cell + 4;
    matrixCanvas.width = Math.round(W * dpr); matrixCanvas.height = Math.round(H * dpr);
    matrixCanvas.style.width = W + 'px'; matrixCanvas.style.height = H + 'px';
    var ctx = matrixCanvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    for (var i = 0; i < q.length; i++)
      for (var j = 0; j < kt.length; j++) {
        var c = rgb(m[i * kt.length + j] / 255);
        ctx.fillStyle = 'rgb(' + c[0] + ',' + c[1] + ',' + c[2] + ')';
        ctx.fillRect(lab + j * cell, lab + i * cell, cell, cell);
      }
    if (labels) {
      ctx.fillStyle = '#1f2937'; ctx.font = Math.min(12, cell - 1) + 'px system-ui, "DejaVu Sans", sans-serif'; ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      for (i = 0; i < q.length; i++) ctx.fillText(clip(q[i], 12), lab - 4, lab + (i + 0.5) * cell);
      for (j = 0; j < kt.length; j++) {
        ctx.save(); ctx.translate(lab + (j + 0.5) * cell, lab - 4); ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'left'; ctx.fillText(clip(kt[j], 12), 0, 0); ctx.restore();
      }
    }
    var what = k.kind === 'cross' || k.kind === 'recurrent' ? 'Alignment (target rows × source columns)' : 'Matrix (query rows × key columns)';
    document.getElementById('matrix-title').textContent = what + ' · layer ' + state.l + (avg.checked ? ' · all heads' : ' · head ' + state.h);
  }
  avg.addEventListener('change', function () { drawHead(); drawMatrix(); });

  function select(ki, l, h, scroll) {
    var k = D.kinds[ki];
    state.ki = ki; state.l = Math.min(l, k.maps.length - 1); state.h = Math.min(h, k.maps[state.l].length - 1); state.focus = null;
    fillSelectors();
    mapCanvases.forEach(function (c) { c.el.classList.toggle('sel', c.ki === state.ki && c.l === state.l && c.h === state.h); });
    drawHead(); drawMatrix();
    if (scroll) document.getElementById('head-view').scrollIntoView({ behavior: 'smooth' });
  }
  selKind.addEventListener('change', function () { select(+selKind.value, state.l, state.h, false); });
  selLayer.addEventListener('change', function () { select(state.ki, +selLayer.value, state.h, false); });
  selHead.addEventListener('change', function () { select(state.ki, state.l, +selHead.value, false); });

  // ---------------------------------------------------------------- gates (recurrent translators)
  // Sigmoid gates on the white -> blue ramp; tanh activations and the cell state diverging: red below 0, blue above.
  function gateColor(q, range) {
    if (range === 'sigmoid') return rgb(q / 255);
    var t = (q - 127.5) / 127.5;
    return t >= 0 ? rgb(t) : [Math.round(255 - 35 * -t), Math.round(255 - 180 * -t), Math.round(255 - 180 * -t)];
  }
  function gateBytes(b64) {
    var s = atob(b64), m = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) m[i] = s.charCodeAt(i);
    return m;
  }
  var selTrace = document.getElementById('sel-trace');
  function drawGates(index) {
    var box = document.getElementById('gate-maps');
    if (!box || !D.gates || D.gates.length === 0) { body.setAttribute('data-gates-drawn', '0'); return; }
    index = Math.max(0, Math.min(index, D.gates.length - 1));
    var g = D.gates[index], tok = tokens(g.tokens), drawn = 0, hash = 2166136261 ^ index;
    var cell = Math.max(2, Math.min(16, Math.floor(640 / g.steps))), rowH = Math.max(1, Math.min(6, Math.floor(200 / g.units)));
    var labels = cell >= 9, lab = labels ? 70 : 0, dpr = window.devicePixelRatio || 1;
    box.textContent = '';
    g.gates.forEach(function (gate) {
      var fig = document.createElement('figure'); fig.className = 'gate';
      var cap = document.createElement('figcaption');
      cap.textContent = gate.name + ' · ' + gate.label + ' (' + (gate.range === 'unbounded' ? '±' + gate.hi.toFixed(2) : gate.lo + '..' + gate.hi) + ')';
      fig.appendChild(cap);
      var canvas = document.createElement('canvas'); canvas.className = 'gate-map';
      canvas.setAttribute('data-gate', gate.name);
      var W = g.steps * cell, H = g.units * rowH + lab;
      canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
      canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
      var ctx = canvas.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      var m = gateBytes(gate.data);
      for (var u = 0; u < g.units; u++)
        for (var t = 0; t < g.steps; t++) {
          var q = m[u * g.steps + t], c = gateColor(q, gate.range);
          ctx.fillStyle = 'rgb(' + c[0] + ',' + c[1] + ',' + c[2] + ')';
          ctx.fillRect(t * cell, u * rowH, cell, rowH);
          hash = Math.imul(hash ^ (u * 7919 + t * 104729 + q), 16777619) >>> 0;
        }
      if (labels) {
        ctx.fillStyle = '#1f2937'; ctx.font = Math.min(11, cell - 1) + 'px system-ui, "DejaVu Sans", sans-serif'; ctx.textBaseline = 'middle';
        for (t = 0; t < g.steps && t < tok.length; t++) {
          ctx.save(); ctx.translate((t + 0.5) * cell, g.units * rowH + 4); ctx.rotate(Math.PI / 2);
          ctx.textAlign = 'left'; ctx.fillText(clip(tok[t], 10), 0, 0); ctx.restore();
        }
      }
      fig.appendChild(canvas);
      box.appendChild(fig);
      drawn++;
    });
    drawMeans(g, tok);
    document.getElementById('gate-info').textContent = g.cell + ' · ' + g.side + ' · layer ' + g.layer + ' · ' + g.units + ' units × ' + g.steps + ' steps';
    body.setAttribute('data-gates-drawn', String(drawn));
    body.setAttribute('data-gate-trace', String(index));
    body.setAttribute('data-gate-hash', (hash >>> 0).toString(16));
  }
  var lineColors = ['#1d4ed8', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];
  function drawMeans(g, tok) {
    var canvas = document.getElementById('gate-means');
    var shown = g.gates.filter(function (x) { return x.range !== 'unbounded'; });
    var lo = shown.some(function (x) { return x.range === 'tanh'; }) ? -1 : 0;
    var step = Math.max(6, Math.min(40, Math.floor(640 / g.steps))), left = 40, top = 10, plotH = 160, bottom = 70;
    var W = left + g.steps * step + 120, H = top + plotH + bottom, dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    function y(v) { return top + (1 - (Math.max(lo, Math.min(1, v)) - lo) / (1 - lo)) * plotH; }
    ctx.strokeStyle = '#e5e7eb'; ctx.lineWidth = 1;
    [lo, (lo + 1) / 2, 1].forEach(function (v) { ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(left + g.steps * step, y(v)); ctx.stroke(); });
    ctx.fillStyle = '#6b7280'; ctx.font = '11px system-ui, "DejaVu Sans", sans-serif'; ctx.textBaseline = 'middle'; ctx.textAlign = 'right';
    [lo, (lo + 1) / 2, 1].forEach(function (v) { ctx.fillText(String(v), left - 4, y(v)); });
    shown.forEach(function (gate, i) {
      ctx.strokeStyle = lineColors[i % lineColors.length]; ctx.lineWidth = 2; ctx.beginPath();
      gate.means.forEach(function (v, t) { var x = left + (t + 0.5) * step; if (t === 0) ctx.moveTo(x, y(v)); else ctx.lineTo(x, y(v)); });
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle; ctx.textAlign = 'left';
      ctx.fillText(gate.name + ' ' + gate.label, left + g.steps * step + 8, top + 8 + 16 * i);
    });
    ctx.fillStyle = '#1f2937';
    for (var t = 0; t < g.steps && t < tok.length; t++) {
      ctx.save(); ctx.translate(left + (t + 0.5) * step, top + plotH + 6); ctx.rotate(Math.PI / 2);
      ctx.textAlign = 'left'; ctx.fillText(clip(tok[t], 10), 0, 0); ctx.restore();
    }
  }
  if (selTrace && D.gates) {
    D.gates.forEach(function (g, i) { option(selTrace, i, g.side + ' · layer ' + g.layer); });
    selTrace.addEventListener('change', function () { drawGates(+selTrace.value); });
  }

  function initial() {
    var p = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) { var a = kv.split('='); if (a.length === 2) p[decodeURIComponent(a[0])] = decodeURIComponent(a[1]); });
    var ki = 0;
    D.kinds.forEach(function (k, i) { if (k.kind === p.kind) ki = i; });
    var l = parseInt(p.layer, 10), h = parseInt(p.head, 10);
    var f = /^([qk])(\d+)$/.exec(p.focus || '');
    var tr = parseInt(p.trace, 10);
    if (p.avg === '1') document.getElementById('avg-heads').checked = true;
    return [ki, isNaN(l) || l < 0 ? 0 : l, isNaN(h) || h < 0 ? 0 : h, f ? { side: f[1], i: +f[2] } : null, isNaN(tr) || tr < 0 ? 0 : tr];
  }
  // A row of the statistics table opens its head.
  Array.prototype.forEach.call(document.querySelectorAll('#statistics tr[data-kind]'), function (tr) {
    tr.addEventListener('click', function () {
      D.kinds.forEach(function (k, i) { if (k.kind === tr.getAttribute('data-kind')) select(i, +tr.getAttribute('data-layer'), +tr.getAttribute('data-head'), true); });
    });
  });
  buildModelView();
  var s0 = initial();
  select(s0[0], s0[1], s0[2], false);
  if (s0[3]) { state.focus = s0[3]; drawHead(); }          // as if that token were hovered
  drawGates(s0[4]);
  if (selTrace && D.gates && D.gates.length) selTrace.value = body.getAttribute('data-gate-trace');
  body.setAttribute('data-render-ms', (performance.now() - t0).toFixed(1));
  body.setAttribute('data-ready', '1');
})();
