using System.Globalization;
using System.Net;
using System.Text;

namespace Transformers.Inspection;

/// <summary>One side of a comparison: a model's name, its own translation, and the inspection its alignment is read from.</summary>
public sealed record ComparedModel(string Name, string Translation, TranslatorInspection Inspection);

/// <summary>Two translators on one sentence (<see cref="TranslatorInspector.Compare"/>); no agreement when their vocabularies differ.</summary>
public sealed record Comparison(string Source, ComparedModel A, ComparedModel B, double? Agreement);

/// <summary>
/// Two translators on one sentence, side by side (`heads --model A --compare B`): each model's own translation, and
/// both models' source-target alignments (<see cref="TranslatorInspector.Alignment"/>: the Transformer's cross-attention
/// averaged over heads and layers, the recurrent model's attention) on the same target — the first model's
/// translation, which the second is run on teacher-forced — with the agreement figure
/// (<see cref="TranslatorInspector.Agreement"/>). A static page: tables coloured inline, no script, no network.
/// </summary>
public static class CompareReport
{
    public const string FileName = "compare.html";

    public static string Render(Comparison comparison)
    {
        var (source, a, b, agreement) = comparison;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")
          .Append("<title>").Append(Html($"{a.Name} vs {b.Name}")).Append("</title><style>")
          .Append("body{font:14px/1.45 system-ui,\"DejaVu Sans\",sans-serif;color:#1f2937;margin:20px}h1{font-size:19px}h2{font-size:16px}")
          .Append(".pair{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}.side{border:1px solid #e5e7eb;border-radius:8px;padding:12px}")
          .Append("table.align{border-collapse:collapse}table.align td{width:22px;height:22px;border:1px solid #fff}")
          .Append("table.align th{font-weight:400;font-size:11px;color:#374151;padding:1px 4px;white-space:nowrap}")
          .Append("table.align thead th{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left}.agree{font-size:16px;margin:12px 0}")
          .Append("</style></head><body>");
        sb.Append("<h1>Two translators, one sentence</h1><p><b>French:</b> ").Append(Html(source)).Append("</p>");
        sb.Append("<p class=\"agree\" id=\"agreement\">");
        if (agreement is { } x)
            sb.Append("<b>Agreement ").Append(x.ToString("P0", CultureInfo.InvariantCulture)).Append("</b>: share of target tokens whose most-attended source token is the same in both alignments (")
              .Append(a.Inspection.Record.TargetTokens?.Count ?? 0).Append(" decoder steps on ").Append(Html(a.Name)).Append("'s translation).");
        else
            sb.Append("No agreement figure: the two models do not share a vocabulary, so their alignments are not over the same tokens.");
        sb.Append("</p><div class=\"pair\">");
        foreach (var (m, label) in new[] { (a, "A"), (b, "B") })
        {
            var record = m.Inspection.Record;
            sb.Append("<div class=\"side\" id=\"model-").Append(label).Append("\"><h2>").Append(label).Append(": ").Append(Html(m.Name)).Append("</h2>")
              .Append("<p><b>Its translation:</b> <span class=\"translation\">").Append(Html(m.Translation)).Append("</span></p>");
            if (!ReferenceEquals(m, a) && !m.Inspection.TargetIsTranslation)
                sb.Append("<p><small>Alignment below: teacher-forced on A's translation.</small></p>");
            sb.Append(AlignmentTable(TranslatorInspector.Alignment(record), record.TargetTokens ?? [], record.SourceTokens)).Append("</div>");
        }
        return sb.Append("</div></body></html>").ToString();
    }

    public static void Write(string path, Comparison comparison) =>
        AtomicFile.Write(path, tmp => File.WriteAllText(tmp, Render(comparison), new UTF8Encoding(false)));

    /// <summary>Rows: the decoder's inputs (what it had read when it attended); columns: source tokens; white (0) to blue (1).</summary>
    private static string AlignmentTable(float[,] alignment, IReadOnlyList<string> rows, IReadOnlyList<string> cols)
    {
        var sb = new StringBuilder("<table class=\"align\"><thead><tr><th></th>");
        foreach (var c in cols) sb.Append("<th>").Append(Html(c)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        for (int q = 0; q < alignment.GetLength(0); q++)
        {
            sb.Append("<tr><th>").Append(Html(q < rows.Count ? rows[q] : "")).Append("</th>");
            for (int k = 0; k < alignment.GetLength(1); k++)
            {
                double v = Math.Sqrt(Math.Clamp(alignment[q, k], 0, 1));
                int r = (int)Math.Round(255 - v * 225), g = (int)Math.Round(255 - v * 197), bl = (int)Math.Round(255 - v * 117);
                sb.Append("<td style=\"background:rgb(").Append(r).Append(',').Append(g).Append(',').Append(bl).Append(")\" title=\"")
                  .Append(alignment[q, k].ToString("0.000", CultureInfo.InvariantCulture)).Append("\"></td>");
            }
            sb.Append("</tr>");
        }
        return sb.Append("</tbody></table>").ToString();
    }

    private static string Html(string s) => WebUtility.HtmlEncode(s);
}
