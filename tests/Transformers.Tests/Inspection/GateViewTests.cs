using System.Text.RegularExpressions;
using Transformers.Inspection;
using Transformers.Recurrent;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Inspection;

/// <summary>
/// The gates of recurrent translators in the viewer: saturation statistics against hand-computed figures, the data the
/// page reads, the drawing in a real browser (one map per gate, another layer draws something else), and the PNGs.
/// </summary>
[Collection(MiniLmHeadsCollection.Name)]
public sealed class GateViewTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "gates-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void Statistics_MeanExtremesAndSaturation_AsComputedByHand()
    {
        // 2 steps x 2 units, [steps, units] row-major.
        var trace = new GateTrace("lstm", "encoder", 0, 2, 2, new Dictionary<string, float[]>
        {
            ["f"] = [0.05f, 0.95f, 0.5f, 0.99f],
            ["g"] = [-0.95f, 0f, 0.5f, 0.95f],
            ["c"] = [2f, -4f, 1f, 0f],
        });
        var record = new AttentionRecord { Model = "m", SourceTokens = ["a", "b"], Layers = [], Gates = [trace] };
        var stats = GateStatistics.Compute(record).ToDictionary(s => s.Gate);
        Assert.Equal((0.6225, 0.05, 0.99), (Math.Round(stats["f"].Mean, 6), Math.Round(stats["f"].Min, 6), Math.Round(stats["f"].Max, 6)));
        Assert.Equal<double?>(0.25, stats["f"].Low);                                  // below 0.1: one of 4
        Assert.Equal<double?>(0.5, stats["f"].High);                                  // above 0.9: two of 4
        Assert.Equal<double?>(0.25, stats["g"].Low);                                  // tanh: below -0.9
        Assert.Equal<double?>(0.25, stats["g"].High);
        Assert.Equal(GateRange.Unbounded, stats["c"].Range);
        Assert.Null(stats["c"].Low);
        Assert.Equal((-4.0, 4.0), GateStatistics.DisplayRange("c", trace.Gates["c"]));
        Assert.Equal([0.5, 0.745], GateStatistics.MeanPerStep(trace, trace.Gates["f"]).Select(m => Math.Round(m, 6)));
    }

    private static readonly string[] Vocabulary = Enumerable.Range(0, 20).Select(i => i switch { 0 => "[PAD]", 1 => "[BOS]", 2 => "[EOS]", 3 => "[UNK]", _ => $"w{i}" }).ToArray();

    private static AttentionRecord Lstm()
    {
        manual_seed(4);
        using var model = new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(20, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau));
        model.eval();
        var source = new InspectionInput([5, 6, 7, 8, 9, 10], ["w5", "w6", "w7", "w8", "w9", "w10"], []);
        var target = new InspectionInput([11, 12, 13, 14], ["w11", "w12", "w13", "w14"], []);
        return AttentionCapture.FromTranslator(model, Vocabulary, source, target, "lstm");
    }

    [Fact]
    public void Html_CarriesEveryGateAndTheSaturationTable()
    {
        var record = Lstm();
        var data = HtmlReport.DataJson(record);
        Assert.Equal(record.Gates.Count, Regex.Matches(data, "\"side\":").Count);
        var html = HtmlReport.Render(record, HeadStatisticsCalculator.Compute(record), []);
        Assert.Contains("id=\"gates\"", html);
        int rows = record.Gates.Sum(g => g.Gates.Count);
        Assert.Equal(rows, Regex.Matches(html, "<tr><td>(encoder|decoder)").Count);
        Assert.Contains("f (forget gate)", html);
    }

    [Fact]
    public void Browser_DrawsOneMapPerGate_AndAnotherLayerDrawsSomethingElse()
    {
        var record = Lstm();
        Directory.CreateDirectory(root);
        var path = Path.Combine(root, "gates.html");
        HtmlReport.Write(path, record, HeadStatisticsCalculator.Compute(record), []);
        var body = Chromium.BodyAttributes(Chromium.DumpDom(path));
        Assert.Equal("1", body["data-ready"]);
        Assert.Equal("0", body["data-errors"]);
        int gates = record.Gates[0].Gates.Count;                                            // c f g h i o
        Assert.Equal(gates.ToString(), body["data-gates-drawn"]);
        Assert.Equal("0", body["data-gate-trace"]);
        var dom = Chromium.DumpDom(path, "#trace=2");
        var other = Chromium.BodyAttributes(dom);
        Assert.Equal("0", other["data-errors"]);
        Assert.Equal("2", other["data-gate-trace"]);
        Assert.NotEqual(body["data-gate-hash"], other["data-gate-hash"]);
        Assert.Equal(gates, Regex.Matches(dom, "<canvas class=\"gate-map\"").Count);

        var pngs = PngReport.Write(Path.Combine(root, "png"), record, new PngOptions { PerHead = false, PerLayer = false });
        Assert.Equal(record.Gates.Count, pngs.Count);
        Assert.All(pngs, p => Assert.True(new FileInfo(p).Length > 5_000, $"{p} is (nearly) empty"));
        Assert.Contains(pngs, p => Path.GetFileName(p) == "gates_encoder-backward_layer1.png");
    }
}
