using Transformers.Lab.Experiments;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Lab;

/// <summary>The lab's measuring instruments: peak memory, model FLOP counts, paired bootstrap.</summary>
[Collection(SerialCollection.Name)]
public sealed class LabMeasurementTests
{
    [Fact]
    public void PeakMemory_SeesA256MiBTensor_AndNotAfterItIsFreed()
    {
        if (!OperatingSystem.IsLinux()) return;
        const long bytes = 256L << 20;
        var peak = PeakMemory.Of(() => { using var t = ones(bytes / sizeof(float)); t.add_(1); });
        Assert.NotNull(peak);
        Assert.InRange(peak!.Value, 0.9 * bytes, 1.5 * bytes);
        var small = PeakMemory.Of(() => { using var t = ones(1024); });
        Assert.InRange(small!.Value, 0, 32L << 20);
    }

    [Fact]
    public void TrainingFlops_OfATransformer_CountEveryMatrixProductOnce()
    {
        const int vocab = 50, batch = 3, length = 7;
        using var m = new TransformerTranslator(TransformerConfig.Tiny(vocab));
        int d = 32, ff = 64, layers = 2;
        // Encoder layer: Q, K, V, O (4 d²) + FFN (2 d ff); decoder layer: two attentions (8 d²) + FFN; tied output layer (vocab d).
        long weights = layers * (4L * d * d + 2L * d * ff) + layers * (8L * d * d + 2L * d * ff) + (long)vocab * d;
        double tokens = batch * length;
        double attention = 3.0 * (layers + 2 * layers) * 4.0 * batch * length * length * d; // QKᵀ and PV, forward + backward
        Assert.Equal(6.0 * weights * tokens + attention, Throughput.TrainingFlops(m, batch, length), 6);
    }

    [Fact]
    public void TrainingFlops_OfAGruWithBahdanau_CountEveryRecurrentWeightOncePerToken()
    {
        const int vocab = 50, batch = 2, length = 5;
        using var m = new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(vocab, RecurrentCellKind.Gru, RecurrentAttention.Bahdanau));
        int e = 16, h = 16, a = 16, half = h / 2;
        long encoder = 2 * (3L * half * (e + half)) + 2 * (3L * half * (h + half));   // two directions of hidden / 2, layers 1 and 2
        long decoder = 3L * h * (e + h) + 3L * h * (h + h);
        long attention = 2L * h * a;                                                    // W_q and W_k (v is counted per (target, source) pair)
        long attentional = 2L * h * e;                                                  // W_c [c_t; s_t] -> h̃
        long output = (long)vocab * e;
        double tokens = batch * length;
        double pairs = 3.0 * 2.0 * batch * length * length * a;
        Assert.Equal(6.0 * (encoder + decoder + attention + attentional + output) * tokens + pairs, Throughput.TrainingFlops(m, batch, length), 6);
    }

    [Fact]
    public void PairedBootstrap_SeesNoDifferenceBetweenEqualOutputs_AndACertainOne()
    {
        string[] refs = ["the cat sat on the mat", "a dog barks at night", "we will meet tomorrow morning", "open the file first", "it is raining again today"];
        var same = Bidirectional.PairedBootstrap(refs, refs, refs, 200, seed: 1);
        Assert.Equal(0, same.BidirectionalWins);
        Assert.Equal(0, same.UnidirectionalWins);
        Assert.Equal(0, same.MeanDelta, 12);
        string[] bad = ["nothing", "at", "all", "here", "now"];
        var certain = Bidirectional.PairedBootstrap(refs, bad, refs, 200, seed: 1);
        Assert.Equal(1.0, certain.BidirectionalWins);
        Assert.True(certain.Low95 > 50, $"the 2.5 % quantile of the difference is {certain.Low95}");
    }
}

public sealed class PlotTickTests
{
    [Theory]
    [InlineData(0.001, 100.0, new[] { 0.001, 0.01, 0.1, 1.0, 10.0, 100.0 })]
    [InlineData(150.0, 900.0, new[] { 200.0, 500.0 })]          // fewer than three 1-2-5 ticks: 1..9 per decade
    [InlineData(2100.0, 2460.0, new[] { 2100.0, 2200.0, 2300.0, 2400.0 })]
    public void LogTicks_LabelEveryRange(double min, double max, double[] expectedSubset)
    {
        var ticks = Transformers.Lab.Runner.PlotRenderer.LogTicks(min, max);
        Assert.True(ticks.Length >= 3, $"[{string.Join(", ", ticks)}]");
        Assert.All(ticks, t => Assert.InRange(t, min * 0.999, max * 1.001));
        foreach (var t in expectedSubset) Assert.Contains(ticks, x => Math.Abs(x - t) < 1e-9 * t);
    }
}
