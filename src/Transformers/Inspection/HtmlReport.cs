using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Transformers.Inspection;

/// <summary>
/// A self-contained HTML viewer of an <see cref="AttentionRecord"/> (no server, no CDN, no network; CSS and JS inline,
/// from Inspection/Viewer/heads.css and heads.js, embedded resources):
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
/// (or k3) focuses query (key) token 3 as hovering it does; <c>&amp;avg=1</c> averages the heads; <c>&amp;trace=N</c> shows
/// the gates of recurrent layer N (data-gates-drawn, data-gate-trace, data-gate-hash).
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
                    <label class="small"><input type="checkbox" id="avg-heads"> average over heads (here and in the head view)</label>
                    <div class="scroll"><canvas id="matrix-canvas"></canvas></div>
                  </div>
                </div>
              </section>
              {{GatesSection(record)}}
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

    /// <summary>The viewer's stylesheet and script: Inspection/Viewer/heads.css and heads.js, embedded in the assembly.</summary>
    private static readonly string Css = Asset("heads.css"), Script = Asset("heads.js");

    private static string Asset(string name)
    {
        using var stream = typeof(HtmlReport).Assembly.GetManifestResourceStream($"Transformers.Inspection.Viewer.{name}")
                           ?? throw new InvalidOperationException($"the viewer's {name} is not embedded in {typeof(HtmlReport).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Replace("\r\n", "\n").TrimEnd('\n');                        // as written, whatever the checkout's line ends
    }

    private static string Html(string s) => WebUtility.HtmlEncode(s);

    private static string Label(AttentionKind k) => k switch
    {
        AttentionKind.EncoderSelf => "encoder self-attention",
        AttentionKind.DecoderSelf => "decoder self-attention",
        AttentionKind.Cross => "cross-attention",
        _ => "recurrent attention",
    };

    /// <summary>
    /// The gates of a recurrent translator (nothing for a Transformer): a layer selector, one units × time heatmap per
    /// gate, the mean over units per time step, and the saturation table (<see cref="GateStatistics"/>).
    /// </summary>
    private static string GatesSection(AttentionRecord record)
    {
        if (record.Gates.Count == 0) return "";
        var sb = new StringBuilder();
        sb.Append("<section class=\"card\" id=\"gates\">")
          .Append("<h2>Gates <small>one map per gate: units top to bottom, time (tokens) left to right; blue high, red negative; the mean over units per step below</small></h2>")
          .Append("<div class=\"controls\"><label>Layer <select id=\"sel-trace\"></select></label><span id=\"gate-info\" class=\"info\"></span></div>")
          .Append("<div id=\"gate-maps\" class=\"gate-maps\"></div>")
          .Append("<h3>Mean over units per time step</h3><div class=\"scroll\"><canvas id=\"gate-means\"></canvas></div>")
          .Append("<h3>Saturation <small>share of all units × steps near the ends of the gate's range: a forget gate near 1 carries memory, an update gate near 0 keeps the state</small></h3>")
          .Append("<div class=\"scroll table-scroll\"><table class=\"stats gate-stats\"><thead><tr><th>side</th><th>layer</th><th>gate</th><th>mean</th><th>min</th><th>max</th>")
          .Append("<th title=\"below 0.1 (sigmoid) or -0.9 (tanh)\">low</th><th title=\"above 0.9\">high</th></tr></thead><tbody>");
        foreach (var g in GateStatistics.Compute(record))
        {
            sb.Append("<tr><td>").Append(Html(g.Side)).Append("</td><td>").Append(g.Layer).Append("</td><td>")
              .Append(Html($"{g.Gate} ({GateStatistics.Describe(g.Gate)})")).Append("</td><td>").Append(F(g.Mean)).Append("</td><td>")
              .Append(F(g.Min)).Append("</td><td>").Append(F(g.Max)).Append("</td>");
            foreach (var share in new[] { g.Low, g.High })
                sb.Append(share is > 0.5 ? "<td class=\"hi\">" : "<td>").Append(F(share)).Append("</td>");
            sb.Append("</tr>");
        }
        return sb.Append("</tbody></table></div></section>").ToString();
    }

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
            WriteGates(w, record);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>
    /// "gates": per recurrent layer and side, per gate, base64 bytes of its values mapped to [0, 255] over the gate's
    /// display range (lo..hi), [units][steps] row-major (a heatmap's rows are units), and the mean over units per step.
    /// </summary>
    private static void WriteGates(Utf8JsonWriter w, AttentionRecord record)
    {
        w.WriteStartArray("gates");
        foreach (var trace in record.Gates)
        {
            w.WriteStartObject();
            AttentionJson.WriteGateTraceHeader(w, trace);
            w.WriteString("tokens", trace.Side.StartsWith("decoder", StringComparison.Ordinal) ? "target" : "source");
            w.WriteStartArray("gates");
            foreach (var (name, values) in trace.Gates)
            {
                var (lo, hi) = GateStatistics.DisplayRange(name, values);
                var bytes = new byte[trace.Units * trace.Steps];
                for (int u = 0; u < trace.Units; u++)
                    for (int t = 0; t < trace.Steps; t++)
                        bytes[u * trace.Steps + t] = (byte)Math.Round(255 * Math.Clamp((values[t * trace.Units + u] - lo) / (hi - lo), 0, 1));
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("label", GateStatistics.Describe(name));
                w.WriteString("range", GateStatistics.RangeOf(name).ToString().ToLowerInvariant());
                w.WriteNumber("lo", lo);
                w.WriteNumber("hi", hi);
                w.WriteString("data", Convert.ToBase64String(bytes));
                w.WriteStartArray("means");
                foreach (var m in GateStatistics.MeanPerStep(trace, values)) w.WriteNumberValue(Math.Round(m, 4));
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
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


}
