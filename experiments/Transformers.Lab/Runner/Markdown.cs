using System.Text;

namespace Transformers.Lab.Runner;

/// <summary>Markdown helpers for report bodies.</summary>
public static class Markdown
{
    /// <summary>A pipe table; cells are written as given (format numbers before).</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var md = new StringBuilder();
        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Concat(header.Select(_ => "---|")));
        foreach (var row in rows) md.AppendLine("| " + string.Join(" | ", row) + " |");
        return md.ToString();
    }
}
