using System.Diagnostics;

namespace Transformers.Lab.Runner;

/// <summary>
/// Wall-clock times of repeated calls, in milliseconds: the median and its spread (min, quartiles, max).
/// Quartiles are linear interpolations between order statistics (type 7, as numpy's default).
/// </summary>
public sealed record TimingStats(double MedianMs, double MinMs, double Q1Ms, double Q3Ms, double MaxMs, int Runs)
{
    /// <summary>Runs <paramref name="action"/> <paramref name="warmup"/> times untimed, then <paramref name="runs"/> times timed.</summary>
    public static TimingStats Measure(Action action, int warmup, int runs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        for (var i = 0; i < warmup; i++) action();
        var ms = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return FromSamples(ms);
    }

    public static TimingStats FromSamples(IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return new TimingStats(Stats.Quantile(sorted, 0.5), sorted[0], Stats.Quantile(sorted, 0.25),
            Stats.Quantile(sorted, 0.75), sorted[^1], sorted.Length);
    }

    /// <summary>True when this interquartile range lies wholly below <paramref name="other"/>'s: faster beyond the noise.</summary>
    public bool ClearlyFasterThan(TimingStats other) => Q3Ms < other.Q1Ms;

    /// <summary>"12.3 ms [11.9-13.0]" (median [IQR]).</summary>
    public override string ToString() => $"{MedianMs:G3} ms [{Q1Ms:G3}-{Q3Ms:G3}]";
}

/// <summary>The few statistics the lab needs.</summary>
public static class Stats
{
    /// <summary>Quantile q of an ascending array, interpolating linearly between neighbours.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) throw new ArgumentException("no samples", nameof(sorted));
        var position = q * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>Least squares y ≈ Σ_k c_k f_k(x): solves the normal equations (a handful of basis functions only).</summary>
    public static double[] LeastSquares(IReadOnlyList<double> xs, IReadOnlyList<double> ys, params Func<double, double>[] basis)
    {
        int n = basis.Length;
        var a = new double[n, n + 1];
        for (var i = 0; i < xs.Count; i++)
        {
            var f = basis.Select(b => b(xs[i])).ToArray();
            for (var r = 0; r < n; r++)
            {
                for (var c = 0; c < n; c++) a[r, c] += f[r] * f[c];
                a[r, n] += f[r] * ys[i];
            }
        }
        // Gauss-Jordan with partial pivoting.
        for (var col = 0; col < n; col++)
        {
            var pivot = Enumerable.Range(col, n - col).MaxBy(r => Math.Abs(a[r, col]));
            for (var c = 0; c <= n; c++) (a[col, c], a[pivot, c]) = (a[pivot, c], a[col, c]);
            if (Math.Abs(a[col, col]) < 1e-300) throw new ArgumentException("singular fit: too few distinct points for the basis");
            for (var r = 0; r < n; r++)
            {
                if (r == col) continue;
                var factor = a[r, col] / a[col, col];
                for (var c = col; c <= n; c++) a[r, c] -= factor * a[col, c];
            }
        }
        return Enumerable.Range(0, n).Select(r => a[r, n] / a[r, r]).ToArray();
    }

    /// <summary>Slope of the least-squares line through (x, y).</summary>
    public static double Slope(IReadOnlyList<double> xs, IReadOnlyList<double> ys) => LeastSquares(xs, ys, _ => 1, x => x)[1];
}
