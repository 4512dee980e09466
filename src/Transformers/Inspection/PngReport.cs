using ScottPlot;

namespace Transformers.Inspection;

/// <summary>Which PNG heatmaps to draw.</summary>
public sealed record PngOptions
{
    /// <summary>One PNG per head: {kind}_layer{L}_head{H}.png.</summary>
    public bool PerHead { get; init; } = true;
    /// <summary>One grid of all heads per layer: {kind}_layer{L}.png.</summary>
    public bool PerLayer { get; init; } = true;
    /// <summary>At most this many token labels per axis (every k-th token is labelled on longer inputs).</summary>
    public int MaxLabels { get; init; } = 64;
    /// <summary>Per-layer grids label tokens only up to this many tokens (the cells get too small after that).</summary>
    public int MaxGridLabels { get; init; } = 24;
}

/// <summary>
/// PNG heatmaps of attention for documents, drawn with ScottPlot 5 (SkiaSharp; renders headless on Linux with the
/// SkiaSharp.NativeAssets.Linux.NoDependencies assets it brings). Rows are queries (top to bottom in token order),
/// columns keys; token labels on both axes.
/// </summary>
public static class PngReport
{
    /// <summary>Writes the PNGs into <paramref name="dir"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(string dir, AttentionRecord record, PngOptions? options = null)
    {
        options ??= new PngOptions();
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        foreach (var kind in record.Kinds)
        {
            var queries = record.QueryTokens(kind);
            var keys = record.KeyTokens(kind);
            foreach (var layer in record.LayersOf(kind))
            {
                string stem = $"{AttentionKinds.Name(kind)}_layer{layer.Layer}";
                if (options.PerHead)
                    for (int h = 0; h < layer.Heads; h++)
                    {
                        var plot = HeadPlot(layer, h, queries, keys, options.MaxLabels, $"{AttentionKinds.Name(kind)} · layer {layer.Layer} · head {h}", colorBar: true);
                        var path = Path.Combine(dir, $"{stem}_head{h}.png");
                        var (w, hgt) = HeadSize(queries.Count, keys.Count);
                        plot.SavePng(path, w, hgt);
                        written.Add(path);
                    }
                if (options.PerLayer)
                {
                    var path = Path.Combine(dir, $"{stem}.png");
                    SaveLayerGrid(path, layer, queries, keys, options);
                    written.Add(path);
                }
            }
        }
        foreach (var trace in record.Gates)
        {
            var path = Path.Combine(dir, $"gates_{trace.Side}_layer{trace.Layer}.png");
            var tokens = trace.Side.StartsWith("decoder", StringComparison.Ordinal) ? record.TargetTokens ?? [] : record.SourceTokens;
            SaveGates(path, trace, tokens, options);
            written.Add(path);
        }
        return written;
    }

    /// <summary>One recurrent layer's gates side by side: a units × time heatmap per gate over its display range (<see cref="GateStatistics.DisplayRange"/>), tokens on the time axis.</summary>
    private static void SaveGates(string path, GateTrace trace, IReadOnlyList<string> tokens, PngOptions options)
    {
        var multiplot = new Multiplot();
        bool first = true;
        foreach (var (name, data) in trace.Gates)
        {
            var values = new double[trace.Units, trace.Steps];
            for (int u = 0; u < trace.Units; u++)
                for (int t = 0; t < trace.Steps; t++) values[u, t] = data[t * trace.Units + u];
            var (lo, hi) = GateStatistics.DisplayRange(name, data);
            var plot = new Plot();
            var map = plot.Add.Heatmap(values);
            map.Colormap = new ScottPlot.Colormaps.Viridis();
            map.ManualRange = new ScottPlot.Range(lo, hi);
            plot.Add.ColorBar(map);
            plot.Title($"{trace.Side} layer {trace.Layer} · {name} ({GateStatistics.Describe(name)})", size: 13);
            Label(plot.Axes.Bottom, tokens.Take(trace.Steps).ToList(), options.MaxLabels, i => i);
            plot.Axes.Bottom.TickLabelStyle.Rotation = -90;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.MinimumSize = 90;
            plot.Axes.Margins(0, 0);
            plot.Axes.Left.Label.Text = "units";
            if (first) multiplot.Reset(plot);
            else multiplot.AddPlot(plot);
            first = false;
        }
        int gates = trace.Gates.Count, columns = Math.Min(gates, 3), rows = (gates + columns - 1) / columns;
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        multiplot.SavePng(path, columns * 420, rows * 360);
    }

    private static (int Width, int Height) HeadSize(int rows, int cols)
    {
        int cell = Math.Clamp(900 / Math.Max(rows, cols), 2, 24);
        return (cols * cell + 260, rows * cell + 220);
    }

    /// <summary>One head's heatmap; row q at the top for q = 0.</summary>
    public static Plot HeadPlot(AttentionLayer layer, int head, IReadOnlyList<string> queries, IReadOnlyList<string> keys,
                                int maxLabels, string title, bool colorBar)
    {
        int rows = layer.Queries, cols = layer.Keys;
        var values = new double[rows, cols];
        var data = layer.Head(head);
        for (int q = 0; q < rows; q++)
            for (int k = 0; k < cols; k++) values[q, k] = data[q * cols + k];
        var plot = new Plot();
        var map = plot.Add.Heatmap(values);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.ManualRange = new ScottPlot.Range(0, 1);
        if (colorBar) plot.Add.ColorBar(map);
        plot.Title(title, size: 14);
        // ScottPlot draws row 0 at the top, centred at y = rows - 1; column k is centred at x = k.
        Label(plot.Axes.Bottom, keys, maxLabels, i => i);
        Label(plot.Axes.Left, queries, maxLabels, i => rows - 1 - i);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -90;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = maxLabels > 0 ? 100 : 10;
        plot.Axes.Margins(0, 0);
        plot.Axes.Bottom.Label.Text = "attended to (keys)";
        plot.Axes.Left.Label.Text = "attending (queries)";
        return plot;
    }

    private static void Label(ScottPlot.IAxis axis, IReadOnlyList<string> tokens, int maxLabels, Func<int, double> position)
    {
        if (maxLabels <= 0) { axis.TickGenerator = new ScottPlot.TickGenerators.NumericManual(); return; }
        int step = (tokens.Count + maxLabels - 1) / maxLabels;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < tokens.Count; i += step) ticks.AddMajor(position(i), Short(tokens[i]));
        axis.TickGenerator = ticks;
    }

    private static string Short(string token) => token.Length > 14 ? token[..13] + "…" : token;

    private static void SaveLayerGrid(string path, AttentionLayer layer, IReadOnlyList<string> queries, IReadOnlyList<string> keys, PngOptions options)
    {
        int heads = layer.Heads, columns = heads <= 16 ? Math.Min(heads, 4) : (int)Math.Ceiling(Math.Sqrt(heads));
        int gridRows = (heads + columns - 1) / columns;
        int labels = Math.Max(queries.Count, keys.Count) <= options.MaxGridLabels ? options.MaxGridLabels : 0;
        var multiplot = new Multiplot();
        for (int h = 0; h < heads; h++)
        {
            var plot = HeadPlot(layer, h, queries, keys, labels, $"head {h}", colorBar: false);
            plot.Axes.Bottom.Label.Text = "";
            plot.Axes.Left.Label.Text = "";
            if (h == 0) multiplot.Reset(plot);
            else multiplot.AddPlot(plot);
        }
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(gridRows, columns);
        int panel = labels > 0 ? 360 : 240;
        multiplot.SavePng(path, columns * panel, gridRows * panel);
    }
}
