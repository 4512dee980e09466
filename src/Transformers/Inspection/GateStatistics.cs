namespace Transformers.Inspection;

/// <summary>What values a gate takes: a sigmoid gate in (0, 1), a tanh activation in (-1, 1), or an LSTM cell state (unbounded).</summary>
public enum GateRange { Sigmoid, Tanh, Unbounded }

/// <summary>
/// Saturation of one gate of one recurrent layer over a sentence (all units × all steps): the mean, and the share of
/// values near the ends of its range: below 0.1 and above 0.9 for a sigmoid gate (a forget gate near 1 carries memory;
/// an update gate near 0 copies the state), below -0.9 and above 0.9 for tanh; none for the unbounded cell state.
/// </summary>
public sealed record GateStatistic(string Side, int Layer, string Gate, GateRange Range, double Mean, double Min, double Max, double? Low, double? High);

public static class GateStatistics
{
    /// <summary>The range of a gate by its PyTorch name: i f o (LSTM), r z (GRU) are sigmoids; g n h are tanh; c is the cell state.</summary>
    public static GateRange RangeOf(string gate) => gate switch
    {
        "i" or "f" or "o" or "r" or "z" => GateRange.Sigmoid,
        "g" or "n" or "h" => GateRange.Tanh,
        _ => GateRange.Unbounded,
    };

    /// <summary>A reader's name of a gate.</summary>
    public static string Describe(string gate) => gate switch
    {
        "i" => "input gate", "f" => "forget gate", "o" => "output gate", "g" => "candidate", "c" => "cell state",
        "r" => "reset gate", "z" => "update gate", "n" => "candidate", "h" => "hidden state",
        _ => gate,
    };

    /// <summary>The value range a display maps to the colour scale: [0, 1], [-1, 1], or ±max |value| for the cell state.</summary>
    public static (double Low, double High) DisplayRange(string gate, ReadOnlySpan<float> values)
    {
        switch (RangeOf(gate))
        {
            case GateRange.Sigmoid: return (0, 1);
            case GateRange.Tanh: return (-1, 1);
            default:
                double m = 1e-6;
                foreach (var v in values) m = Math.Max(m, Math.Abs(v));
                return (-m, m);
        }
    }

    public static IReadOnlyList<GateStatistic> Compute(AttentionRecord record) =>
        record.Gates.SelectMany(trace => trace.Gates.Select(kv => Of(trace, kv.Key, kv.Value))).ToList();

    private static GateStatistic Of(GateTrace trace, string gate, float[] values)
    {
        var range = RangeOf(gate);
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        long low = 0, high = 0;
        double lowBound = range == GateRange.Sigmoid ? 0.1 : -0.9;
        foreach (var v in values)
        {
            sum += v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            if (v < lowBound) low++;
            if (v > 0.9) high++;
        }
        int n = Math.Max(values.Length, 1);
        bool bounded = range != GateRange.Unbounded;
        return new GateStatistic(trace.Side, trace.Layer, gate, range, sum / n, values.Length == 0 ? 0 : min, values.Length == 0 ? 0 : max,
                                 bounded ? (double)low / n : null, bounded ? (double)high / n : null);
    }

    /// <summary>The mean over units of each time step: [steps], from values [steps, units] row-major.</summary>
    public static double[] MeanPerStep(GateTrace trace, float[] values)
    {
        var means = new double[trace.Steps];
        for (int t = 0; t < trace.Steps; t++)
        {
            double s = 0;
            for (int u = 0; u < trace.Units; u++) s += values[t * trace.Units + u];
            means[t] = s / Math.Max(trace.Units, 1);
        }
        return means;
    }
}
