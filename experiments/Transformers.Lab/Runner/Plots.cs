using ScottPlot;

namespace Transformers.Lab.Runner;

/// <summary>
/// One line of a plot. <paramref name="Low"/>/<paramref name="High"/>: optional spread drawn as error bars (e.g. the
/// interquartile range of the timings), in data units.
/// </summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y,
    IReadOnlyList<double>? Low = null, IReadOnlyList<double>? High = null);

/// <summary>A vertical marker with a label (e.g. a computed crossover).</summary>
public sealed record Marker(double X, string Label);

/// <summary>
/// A line plot. Log axes are drawn by plotting log10 of the values and labelling the ticks with the values
/// themselves: a log x axis gets a tick at every x of the data (lengths, delays), a log y axis at every decade.
/// Values ≤ 0 cannot go on a log axis: they are dropped from that series (and said in the report by the caller).
/// </summary>
public sealed record LinePlot(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series,
    bool LogX = false, bool LogY = false, IReadOnlyList<Marker>? Markers = null, double? HorizontalLine = null,
    string? HorizontalLineLabel = null, (double Min, double Max)? YLimits = null);

/// <summary>Bars in groups: one group per category on the x axis, one bar per series in each group, with error bars.</summary>
public sealed record BarPlot(string Title, string YLabel, IReadOnlyList<string> Categories,
    IReadOnlyList<(string Name, double[] Values, double[] Low, double[] High)> Groups);

/// <summary>Renders lab plots to PNG (ScottPlot 5 on SkiaSharp, headless). Every plot carries the machine stamp under its title.</summary>
public static class PlotRenderer
{
    private const int Width = 1200, Height = 600;         // the legend takes the right edge

    public static void Save(LinePlot spec, MachineStamp stamp, string path)
    {
        var plot = new Plot();
        double Tx(double x) => spec.LogX ? Math.Log10(x) : x;
        double Ty(double y) => spec.LogY ? Math.Log10(y) : y;
        bool Drawable(double x, double y) => double.IsFinite(x) && double.IsFinite(y) && (!spec.LogX || x > 0) && (!spec.LogY || y > 0);
        var palette = new ScottPlot.Palettes.Category10();
        for (var s = 0; s < spec.Series.Count; s++)
        {
            var series = spec.Series[s];
            var keep = Enumerable.Range(0, series.X.Count).Where(i => Drawable(series.X[i], series.Y[i])).ToArray();
            if (keep.Length == 0) continue;
            var color = palette.GetColor(s);
            var xs = keep.Select(i => Tx(series.X[i])).ToArray();
            var ys = keep.Select(i => Ty(series.Y[i])).ToArray();
            var line = plot.Add.Scatter(xs, ys, color);
            line.LegendText = series.Name;
            line.LineWidth = 2;
            line.MarkerSize = 6;
            if (series.Low is not null && series.High is not null)
            {
                // Error bars in plotted (possibly log) units: distance from the point to the transformed bound.
                var below = new double[keep.Length];
                var above = new double[keep.Length];
                for (var j = 0; j < keep.Length; j++)
                {
                    var low = series.Low[keep[j]];
                    below[j] = spec.LogY && low <= 0 ? 0 : ys[j] - Ty(low);
                    above[j] = Ty(series.High[keep[j]]) - ys[j];
                }
                var bars = plot.Add.ErrorBar(xs, ys, above);
                bars.YErrorNegative = below;
                bars.Color = color;
            }
        }
        foreach (var marker in spec.Markers ?? [])
        {
            if (spec.LogX && marker.X <= 0) continue;
            var line = plot.Add.VerticalLine(Tx(marker.X), 1.5f, Colors.DarkRed, LinePattern.Dotted);
            line.LabelText = marker.Label;
        }
        if (spec.HorizontalLine is { } h && (!spec.LogY || h > 0))
        {
            var line = plot.Add.HorizontalLine(Ty(h), 1.5f, Colors.Gray, LinePattern.Dashed);
            line.LegendText = spec.HorizontalLineLabel ?? "";
        }
        if (spec.LogX)
        {
            var ticks = spec.Series.SelectMany(s => s.X).Where(x => x > 0).Distinct().Order().ToArray();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                ticks.Select(Math.Log10).ToArray(), ticks.Select(x => x.ToString("G4")).ToArray());
        }
        else if (spec.Series.SelectMany(s => s.X).All(x => x == Math.Round(x)))
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // steps, not 0.5 steps
        }
        if (spec.LogY)
        {
            var values = spec.Series.SelectMany(s => s.Y.Concat(s.Low ?? []).Concat(s.High ?? [])).Where(y => y > 0 && double.IsFinite(y)).ToArray();
            var ticks = values.Length == 0 ? [] : LogTicks(values.Min(), values.Max());
            plot.Axes.Left.TickGenerator = ticks.Length >= 3 && ticks.Any(t => Math.Log10(t) != Math.Round(Math.Log10(t)))
                ? new ScottPlot.TickGenerators.NumericManual(ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t.ToString("G4")).ToArray())
                : new ScottPlot.TickGenerators.NumericAutomatic
                {
                    IntegerTicksOnly = true,
                    MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                    LabelFormatter = e => DecadeLabel(e),
                };
        }
        if (spec.YLimits is { } limits) plot.Axes.SetLimitsY(Ty(limits.Min), Ty(limits.Max));
        Finish(plot, spec.Title, spec.XLabel, spec.YLabel, stamp, path);
    }

    public static void Save(BarPlot spec, MachineStamp stamp, string path)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int groups = spec.Groups.Count;
        double width = 0.8 / groups;
        for (var g = 0; g < groups; g++)
        {
            var (name, values, low, high) = spec.Groups[g];
            var bars = values.Select((v, c) => new Bar
            {
                Position = c + (g - (groups - 1) / 2.0) * width,
                Value = v,
                Size = width * 0.9,
                FillColor = palette.GetColor(g),
            }).ToArray();
            plot.Add.Bars(bars).LegendText = name;
            var xs = bars.Select(b => b.Position).ToArray();
            var errors = plot.Add.ErrorBar(xs, values, values.Select((v, i) => high[i] - v).ToArray());
            errors.YErrorNegative = values.Select((v, i) => v - low[i]).ToArray();
            errors.Color = Colors.Black;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, spec.Categories.Count).Select(c => (double)c).ToArray(), spec.Categories.ToArray());
        plot.Axes.Margins(bottom: 0);
        Finish(plot, spec.Title, "", spec.YLabel, stamp, path);
    }

    /// <summary>
    /// Tick values for a log axis over [min, max]: the decades when there are at least three of them, else 1-2-5 of each
    /// decade, else 1 to 9, then steps of 0.5 and 0.1 of each decade (a range inside one decade would otherwise have no
    /// labelled tick).
    /// </summary>
    public static double[] LogTicks(double min, double max)
    {
        int low = (int)Math.Floor(Math.Log10(min)), high = (int)Math.Ceiling(Math.Log10(max));
        double[] result = [];
        var halves = Enumerable.Range(2, 18).Select(i => i / 2.0).ToArray();                  // 1, 1.5, ..., 9.5
        var tenths = Enumerable.Range(10, 90).Select(i => i / 10.0).ToArray();                // 1.0, 1.1, ..., 9.9
        foreach (double[] mantissas in new[] { new[] { 1.0 }, [1.0, 2, 5], [1.0, 2, 3, 4, 5, 6, 7, 8, 9], halves, tenths })
        {
            result = Enumerable.Range(low, high - low + 1).SelectMany(e => mantissas.Select(m => m * Math.Pow(10, e)))
                .Where(v => v >= min * 0.999 && v <= max * 1.001).ToArray();
            if (result.Length >= 3) return result;
        }
        return result;
    }

    /// <summary>A decade's label: 10^e as "1000" or "1e-05".</summary>
    private static string DecadeLabel(double e) =>
        e is >= -3 and <= 4 ? Math.Pow(10, e).ToString("0.###") : $"1e{e:0}";

    private static void Finish(Plot plot, string title, string xLabel, string yLabel, MachineStamp stamp, string path)
    {
        plot.Title(title + "\n" + stamp.OneLine);
        plot.Axes.Title.Label.FontSize = 13;
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Right);                 // beside the data, so no legend ever hides a curve
        plot.SavePng(path, Width, Height);
    }
}
