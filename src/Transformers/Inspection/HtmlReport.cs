using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Transformers.Inspection;

/// <summary>
/// A self-contained HTML viewer of an <see cref="AttentionRecord"/> (no server, no CDN, no network; CSS and JS inline):
/// a model view (every layer x head as a small canvas heatmap; click one to open it), a head view (query tokens left,
/// key tokens right, lines weighted by attention; layer/head selectors; hover a token to focus it), a matrix view of
/// the selected head (for cross-attention: the target-to-source alignment), the statistics table and the importance
/// heatmap.
/// <para>
/// Data: a <c>&lt;script type="application/json"&gt;</c> block. Every string in it is JSON-escaped with &lt; &gt; &amp;
/// written as \u003C \u003E \u0026, so no "&lt;/script&gt;" in a token can end the block; the page shows tokens only
/// through <c>textContent</c> and canvas text, never as HTML. To stay small and fast at 512 tokens each head is stored as
/// base64 bytes q = round(255 √p) (a display encoding: √ keeps small probabilities visible; p ≈ (q/255)²); the exact
/// numbers are in the JSON report.
/// </para>
/// <para>
/// State for tests: &lt;body&gt; gets data-ready, data-maps-drawn, data-selected, data-lines-drawn, data-drawn-hash (a
/// hash of what the head view drew), data-head-ms (time of the last head-view draw), data-errors (count of errors caught by window.onerror, listed in #errors) and
/// data-render-ms. The URL hash <c>#kind=encoder_self&amp;layer=2&amp;head=5</c> sets the initial selection; <c>&amp;focus=q3</c>
/// (or k3) focuses query (key) token 3 as hovering it does.
/// </para>
/// </summary>
public static class HtmlReport
{
    public static void Write(string path, AttentionRecord record, IReadOnlyList<HeadStatistics> statistics,
                             IReadOnlyList<ImportanceMatrix> importance) =>
        AtomicFile.Write(path, tmp => File.WriteAllText(tmp, Render(record, statistics, importance), new UTF8Encoding(false)));

    public static string Render(AttentionRecord record, IReadOnlyList<HeadStatistics> statistics, IReadOnlyList<ImportanceMatrix> importance)
    {
        record.Validate();
        var data = DataJson(record);
        // Belt and braces: the encoder escapes '<', so this cannot happen; if it ever did, the block could be closed early.
        if (data.Contains("</", StringComparison.Ordinal) || data.Contains("<!--", StringComparison.Ordinal))
            throw new InvalidOperationException("the embedded JSON contains an unescaped '<'");
        string title = $"Attention heads — {record.Model}";
        var notes = new StringBuilder();
        foreach (var n in record.Notes) notes.Append("<li>").Append(Html(n)).Append("</li>");
        string text = record.TargetTokens is null
            ? $"{record.SourceTokens.Count} tokens"
            : $"{record.SourceTokens.Count} source tokens, {record.TargetTokens.Count} target tokens";
        return $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{Html(title)}}</title>
            <style>{{Css}}</style>
            <script>window.__headsErrors = []; window.onerror = function (msg, src, line) { window.__headsErrors.push(String(msg) + ' (line ' + line + ')'); };</script>
            </head>
            <body data-ready="0">
            <header>
              <h1>Attention heads <span class="model">{{Html(record.Model)}}</span></h1>
              <p class="meta">{{Html(text)}} · {{record.Layers.Count}} attention layers · {{string.Join(", ", record.Kinds.Select(k => Html(Label(k))))}}</p>
              <ul class="notes">{{notes}}</ul>
              <ul id="errors" class="errors"></ul>
            </header>
            <main>
              <section class="card" id="model-view">
                <h2>Model view <small>every layer × head; click a map to open it below</small></h2>
                <div id="grids"></div>
              </section>
              <section class="card" id="head-view">
                <h2>Head view <small>left: tokens that attend; right: tokens attended to; hover a token to focus it</small></h2>
                <div class="controls">
                  <label>Attention <select id="sel-kind"></select></label>
                  <label>Layer <select id="sel-layer"></select></label>
                  <label>Head <select id="sel-head"></select></label>
                  <span id="head-info" class="info"></span>
                </div>
                <div class="split">
                  <div class="scroll" id="head-scroll"><canvas id="head-canvas"></canvas></div>
                  <div class="matrix-box">
                    <h3 id="matrix-title">Matrix</h3>
                    <label class="small"><input type="checkbox" id="avg-heads"> average over heads</label>
                    <div class="scroll"><canvas id="matrix-canvas"></canvas></div>
                  </div>
                </div>
              </section>
              <section class="card" id="importance">
                <h2>Head importance <small>loss change when the head alone is masked (Michel et al. 2019); red: the model needs the head</small></h2>
                {{ImportanceTables(importance)}}
              </section>
              <section class="card" id="statistics">
                <h2>Head statistics <small>means over query tokens (Clark et al. 2019)</small></h2>
                {{StatisticsTable(statistics)}}
              </section>
            </main>
            <script type="application/json" id="heads-data">{{data}}</script>
            <script>{{Script}}</script>
            </body>
            </html>
            """;
    }

    private static string Html(string s) => WebUtility.HtmlEncode(s);

    private static string Label(AttentionKind k) => k switch
    {
        AttentionKind.EncoderSelf => "encoder self-attention",
        AttentionKind.DecoderSelf => "decoder self-attention",
        AttentionKind.Cross => "cross-attention",
        _ => "recurrent attention",
    };

    /// <summary>The data block: tokens and every head as base64 of round(255 √p).</summary>
    public static string DataJson(AttentionRecord record)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.Default }))
        {
            w.WriteStartObject();
            w.WriteString("model", record.Model);
            AttentionJson.WriteStrings(w, "source", record.SourceTokens);
            if (record.TargetTokens is { } t) AttentionJson.WriteStrings(w, "target", t);
            else w.WriteNull("target");
            w.WriteString("encoding", "base64 bytes q = round(255 sqrt(p)), [queries][keys] row-major");
            w.WriteStartArray("kinds");
            foreach (var kind in record.Kinds)
            {
                var layers = record.LayersOf(kind);
                w.WriteStartObject();
                w.WriteString("kind", AttentionKinds.Name(kind));
                w.WriteString("label", Label(kind));
                w.WriteString("queries", kind == AttentionKind.EncoderSelf ? "source" : "target");
                w.WriteString("keys", kind == AttentionKind.DecoderSelf ? "target" : "source");
                w.WriteNumber("heads", layers.Max(l => l.Heads));
                w.WriteStartArray("maps");                       // [layer][head] base64
                foreach (var layer in layers)
                {
                    w.WriteStartArray();
                    var bytes = new byte[layer.Queries * layer.Keys];
                    for (int h = 0; h < layer.Heads; h++)
                    {
                        var head = layer.Head(h);
                        for (int i = 0; i < bytes.Length; i++)
                            bytes[i] = (byte)Math.Round(255 * Math.Sqrt(Math.Clamp(head[i], 0f, 1f)));
                        w.WriteStringValue(Convert.ToBase64String(bytes));
                    }
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string F(double? v, string format = "0.000") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static string StatisticsTable(IReadOnlyList<HeadStatistics> statistics)
    {
        if (statistics.Count == 0) return "<p>No statistics.</p>";
        var sb = new StringBuilder();
        sb.Append("<div class=\"scroll table-scroll\"><table class=\"stats\"><thead><tr><th>attention</th><th>layer</th><th>head</th>")
          .Append("<th title=\"mean entropy of a query's distribution, nats\">entropy</th><th title=\"Σ p |q−k|, tokens\">distance</th>")
          .Append("<th>[CLS]</th><th>[SEP]</th><th>punct.</th><th>self</th><th>previous</th><th>next</th>")
          .Append("<th title=\"mean max probability (alignment sharpness)\">max p</th><th>pattern</th></tr></thead><tbody>");
        foreach (var s in statistics)
        {
            sb.Append("<tr data-kind=\"").Append(AttentionKinds.Name(s.Kind)).Append("\" data-layer=\"").Append(s.Layer).Append("\" data-head=\"").Append(s.Head).Append("\">")
              .Append("<td>").Append(Html(Label(s.Kind))).Append("</td><td>").Append(s.Layer).Append("</td><td>").Append(s.Head).Append("</td>")
              .Append("<td>").Append(F(s.Entropy)).Append("</td><td>").Append(F(s.MeanDistance, "0.00")).Append("</td>");
            foreach (var share in new double?[] { s.Cls, s.Sep, s.Punctuation, s.Self, s.Previous, s.Next, s.MaxProbability })
                sb.Append(share is > HeadStatistics.PatternThreshold ? "<td class=\"hi\">" : "<td>").Append(F(share)).Append("</td>");
            sb.Append("<td>").Append(Html(s.Pattern)).Append("</td></tr>");
        }
        return sb.Append("</tbody></table></div>").ToString();
    }

    private static string ImportanceTables(IReadOnlyList<ImportanceMatrix> importance)
    {
        if (importance.Count == 0) return "<p>Not computed for this report.</p>";
        var sb = new StringBuilder("<div class=\"imp-row\">");
        foreach (var m in importance)
        {
            double scale = 0;
            foreach (var d in m.Delta) scale = Math.Max(scale, Math.Abs(d));
            sb.Append("<div class=\"imp\"><h3>").Append(Html(Label(m.Kind))).Append(" <small>loss: ").Append(Html(m.Loss))
              .Append(", base ").Append(F(m.BaseLoss, "0.0000")).Append("</small></h3><table class=\"heat\"><tr><th></th>");
            for (int h = 0; h < m.Heads; h++) sb.Append("<th>h").Append(h).Append("</th>");
            sb.Append("</tr>");
            for (int l = 0; l < m.Layers; l++)
            {
                sb.Append("<tr><th>layer ").Append(l).Append("</th>");
                for (int h = 0; h < m.Heads; h++)
                {
                    double d = m.Delta[l, h], a = scale > 0 ? Math.Abs(d) / scale : 0;
                    string color = (d >= 0 ? "rgba(220,38,38," : "rgba(37,99,235,") + a.ToString("0.00", CultureInfo.InvariantCulture) + ")";
                    sb.Append("<td style=\"background:").Append(color).Append(a > 0.6 ? ";color:#fff" : "")
                      .Append("\" title=\"layer ").Append(l).Append(" head ").Append(h).Append(": Δloss ")
                      .Append(d.ToString("0.000000", CultureInfo.InvariantCulture)).Append("\">")
                      .Append(d.ToString(scale < 0.01 ? "0.0000" : "0.000", CultureInfo.InvariantCulture)).Append("</td>");
                }
                sb.Append("</tr>");
            }
            sb.Append("</table></div>");
        }
        return sb.Append("</div>").ToString();
    }

    private const string Css = """
        :root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --accent:#1d4ed8; --bg:#f8fafc; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
        header { padding: 16px 24px 8px; background: #fff; border-bottom: 1px solid var(--line); }
        h1 { margin: 0; font-size: 20px; } h1 .model { color: var(--accent); font-weight: 600; margin-left: 6px; }
        h2 { margin: 0 0 10px; font-size: 16px; } h2 small, h3 small { color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 8px; }
        h3 { margin: 4px 0 8px; font-size: 14px; }
        .meta { margin: 4px 0; color: var(--muted); }
        .notes { margin: 4px 0; padding-left: 18px; color: #92400e; } .notes:empty, .errors:empty { display: none; }
        .errors { color: #b91c1c; font-weight: 600; }
        main { padding: 16px 24px; display: grid; gap: 16px; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
        .grid-block { margin-bottom: 12px; } .grid { display: grid; gap: 4px; align-items: center; width: max-content; }
        .grid .lab { font-size: 11px; color: var(--muted); text-align: center; }
        canvas.map { width: 56px; height: 56px; image-rendering: pixelated; border: 1px solid var(--line); cursor: pointer; display: block; }
        canvas.map:hover { outline: 2px solid #93c5fd; } canvas.map.sel { outline: 3px solid var(--accent); }
        .controls { display: flex; gap: 14px; align-items: center; flex-wrap: wrap; margin-bottom: 10px; }
        select { font: inherit; padding: 2px 6px; } .info { color: var(--muted); }
        .split { display: flex; gap: 18px; align-items: flex-start; flex-wrap: wrap; }
        .scroll { max-height: 640px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
        #head-canvas, #matrix-canvas { display: block; }
        .matrix-box h3 { margin-top: 0; } .small { font-size: 12px; color: var(--muted); display: block; margin-bottom: 6px; }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
        .stats th, .stats td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right; font-size: 12px; }
        .stats th { position: sticky; top: 0; background: #f1f5f9; }
        .stats td:first-child, .stats td:last-child, .stats th:first-child, .stats th:last-child { text-align: left; }
        .stats tbody tr { cursor: pointer; } .stats tbody tr:hover { background: #eff6ff; }
        .stats td.hi { background: #fef3c7; font-weight: 600; } .table-scroll { max-height: 420px; }
        .imp-row { display: flex; gap: 24px; flex-wrap: wrap; }
        .heat th { font-size: 11px; color: var(--muted); font-weight: 500; padding: 2px 4px; }
        .heat td { width: 44px; height: 26px; text-align: center; font-size: 10px; border: 1px solid #fff; }
        """;

    private const string Script = """
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
            var k = D.kinds[state.ki], q = tokens(k.queries), kt = tokens(k.keys), m = map(state.ki, state.l, state.h);
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
            ctx.lineWidth = 1.5;
            for (b = 0; b < B; b++) {
              var list = buckets[b];
              if (!list.length) continue;
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
            body.setAttribute('data-selected', k.kind + '/' + state.l + '/' + state.h);
            body.setAttribute('data-lines-drawn', String(drawn));
            body.setAttribute('data-drawn-hash', (hash >>> 0).toString(16));
            body.setAttribute('data-head-ms', (performance.now() - started).toFixed(1));
            document.getElementById('head-info').textContent = k.label + ' · layer ' + state.l + ' · head ' + state.h + ' · ' + drawn + ' lines' +
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
          avg.addEventListener('change', drawMatrix);

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

          function initial() {
            var p = {};
            location.hash.replace(/^#/, '').split('&').forEach(function (kv) { var a = kv.split('='); if (a.length === 2) p[decodeURIComponent(a[0])] = decodeURIComponent(a[1]); });
            var ki = 0;
            D.kinds.forEach(function (k, i) { if (k.kind === p.kind) ki = i; });
            var l = parseInt(p.layer, 10), h = parseInt(p.head, 10);
            var f = /^([qk])(\d+)$/.exec(p.focus || '');
            return [ki, isNaN(l) || l < 0 ? 0 : l, isNaN(h) || h < 0 ? 0 : h, f ? { side: f[1], i: +f[2] } : null];
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
          body.setAttribute('data-render-ms', (performance.now() - t0).toFixed(1));
          body.setAttribute('data-ready', '1');
        })();
        """;
}
