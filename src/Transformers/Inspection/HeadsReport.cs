namespace Transformers.Inspection;

/// <summary>The files of one heads report.</summary>
public sealed record HeadsReportFiles(string Html, string Json, IReadOnlyList<string> Pngs);

/// <summary>Writes a whole report into a directory: heads.html (the viewer), heads.json (the data) and png/ (heatmaps).</summary>
public static class HeadsReport
{
    public const string HtmlFile = "heads.html", JsonFile = "heads.json", PngFolder = "png";

    public static HeadsReportFiles Write(string dir, AttentionRecord record, IReadOnlyList<ImportanceMatrix> importance, PngOptions? png = null)
    {
        Directory.CreateDirectory(dir);
        var statistics = HeadStatisticsCalculator.Compute(record);
        var html = Path.Combine(dir, HtmlFile);
        var json = Path.Combine(dir, JsonFile);
        HtmlReport.Write(html, record, statistics, importance);
        AttentionJson.Write(json, record, statistics, importance);
        var pngs = png is null ? [] : PngReport.Write(Path.Combine(dir, PngFolder), record, png);
        return new HeadsReportFiles(html, json, pngs);
    }
}
