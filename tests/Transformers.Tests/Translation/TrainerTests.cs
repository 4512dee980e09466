using System.Text.Json;
using Transformers.Data;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>A synthetic task: the target is the source reversed. Each epoch's batch order is a function of the epoch only.</summary>
internal sealed class ReverseTask : ITrainingData
{
    private readonly List<(int[] Src, int[] Tgt)> pairs;
    public const int Vocab = 16;
    public static readonly string[] Vocabulary = Enumerable.Range(0, Vocab).Select(i => i switch { 0 => "[PAD]", 1 => "[BOS]", 2 => "[EOS]", 3 => "[UNK]", _ => $"t{i}" }).ToArray();

    public ReverseTask(int count, int seed)
    {
        var rng = new Random(seed);
        pairs = Enumerable.Range(0, count).Select(_ =>
        {
            var s = Enumerable.Range(0, rng.Next(2, 7)).Select(_ => rng.Next(4, Vocab)).ToArray();
            return (s, s.Reverse().ToArray());
        }).ToList();
        Dev = Batches(pairs.Take(16).ToList(), 8);
    }

    public IReadOnlyList<TranslationBatch> Epoch(int epoch)
    {
        var order = pairs.OrderBy(_ => 0).ToList();
        var rng = new Random(1000 + epoch);
        for (int i = order.Count - 1; i > 0; i--) { int j = rng.Next(i + 1); (order[i], order[j]) = (order[j], order[i]); }
        return Batches(order, 8);
    }

    public IReadOnlyList<TranslationBatch> Dev { get; }

    private static List<TranslationBatch> Batches(List<(int[] Src, int[] Tgt)> items, int size) =>
        items.Chunk(size).Select(c => new TranslationBatch(c.Select(p => p.Src).ToList(), c.Select(p => p.Tgt).ToList())).ToList();
}

/// <summary>Serial: the resume check compares runs drawn from libtorch's global generator, which tests running in parallel also draw from.</summary>
[Collection(SerialCollection.Name)]
public sealed class TrainerTests
{
    private static TransformerConfig Config => TransformerConfig.Tiny(ReverseTask.Vocab) with { Dropout = 0.1 };

    private static string TempRun() => Path.Combine(Path.GetTempPath(), "trainer-" + Guid.NewGuid().ToString("N"));

    internal static TrainerOptions Options(long maxSteps) => new()
    {
        LearningRate = 3e-3, WarmupSteps = 2, Decay = LearningRateDecay.InverseSqrt, MaxSteps = maxSteps, EvalEverySteps = 0, Patience = 0, AccumulationSteps = 2, MaxEpochs = 100,
    };

    [Fact]
    public void Resume_ContinuesBitIdentically() =>
        // 12 optimizer steps = 24 batches = 1.5 epochs of 16 batches
        ResumeAssert.ContinuesBitIdentically(() => new TransformerTranslator(Config), new ReverseTask(128, seed: 1), Options, n: 12);

    [Fact]
    public void Training_LearnsTheTask_AndWritesALog()
    {
        manual_seed(3);
        using var m = new TransformerTranslator(Config with { Dropout = 0 });
        var opts = new TrainerOptions { LearningRate = 5e-3, WarmupSteps = 20, MaxSteps = 300, EvalEverySteps = 100, Patience = 0, LabelSmoothing = 0.0 };
        var r = ReverseTaskTraining.Run(m, new ReverseTask(256, seed: 2), opts, new DecodingOptions());
        Assert.Equal(300 + 3, r.LogLines);                   // 300 steps + 3 evaluations
        Assert.True(r.LastDevLoss < 0.4 && r.LastDevLoss < r.FirstDevLoss, $"dev loss {r.FirstDevLoss:F3} -> {r.LastDevLoss:F3}");
        // And it translates: greedy decoding reverses a dev source.
        Assert.True(r.Correct >= 5, $"{r.Correct}/8 reversed correctly");
        Assert.True(r.HasBest);
    }

    [Fact]
    public void CheckpointAveraging_IsTheMeanOfTheLastKEvaluationCheckpoints()
    {
        var run = TempRun();
        try
        {
            manual_seed(9);
            using var m = new TransformerTranslator(Config);
            var opts = Options(6) with { EvalEverySteps = 2, AverageLastK = 2, AccumulationSteps = 1 };
            new Trainer(m, new ReverseTask(64, seed: 5), ReverseTask.Vocabulary, opts, run).Run();
            var history = Directory.GetDirectories(Path.Combine(run, "history")).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(3, history.Length);                                    // steps 2, 4, 6
            using var a = Checkpoint.Load(history[1]).Model;
            using var b = Checkpoint.Load(history[2]).Model;
            using var averaged = Checkpoint.Load(Path.Combine(run, "averaged")).Model;
            var sa = a.state_dict();
            var sb = b.state_dict();
            foreach (var (name, t) in averaged.state_dict())
                Assert.True(t.allclose((sa[name] + sb[name]) / 2, rtol: 0, atol: 1e-6), $"{name} is not the mean of steps 4 and 6");
        }
        finally
        {
            Directory.Delete(run, true);
        }
    }

    [Fact]
    public void NaNLoss_StopsWithAMessage_AndLeavesTheLastCheckpointIntact()
    {
        var data = new ReverseTask(64, seed: 4);
        var run = TempRun();
        try
        {
            manual_seed(5);
            using var m = new TransformerTranslator(Config);
            new Trainer(m, data, ReverseTask.Vocabulary, Options(2), run).Run();
            var weights = Path.Combine(run, "last", "model.safetensors");
            var before = File.ReadAllBytes(weights);
            using (no_grad()) m.parameters().First().fill_(double.NaN);
            var trainer = new Trainer(m, data, ReverseTask.Vocabulary, Options(10), run);
            var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
            Assert.Contains("loss became NaN at step 1", e.Message);
            Assert.Contains("Lower the learning rate (e.g. --lr", e.Message);
            Assert.Contains("unchanged", e.Message);
            Assert.Equal(before, File.ReadAllBytes(weights));
        }
        finally
        {
            Directory.Delete(run, true);
        }
    }

    [Fact]
    public void Checkpoint_Errors_NameTheFileAndTheMismatch()
    {
        var run = TempRun();
        try
        {
            manual_seed(6);
            using var m = new TransformerTranslator(Config);
            var dir = Path.Combine(run, "ckpt");
            Checkpoint.Save(dir, m, ReverseTask.Vocabulary);
            using (var ok = Checkpoint.Load(run + "/ckpt").Model) Assert.Equal(TranslatorArchitecture.Transformer, ok.Architecture);
            Assert.Contains("is a 'transformer' model, not 'lstm'", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir, TranslatorArchitecture.Lstm)).Message);
            // The checks below are those of the loader itself, as for a checkpoint written before manifests (the manifest's own: RunDirectoryTests).
            File.Delete(Path.Combine(dir, CheckpointManifest.FileName));
            // A vocabulary that does not match the weights.
            File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ReverseTask.Vocabulary.Take(10));
            var v = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir));
            Assert.Contains("vocab.txt has 10 tokens", v.Message);
            Assert.Contains("vocabulary of 16", v.Message);
            File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ReverseTask.Vocabulary);
            // Truncated weights.
            var w = Path.Combine(dir, "model.safetensors");
            var bytes = File.ReadAllBytes(w);
            File.WriteAllBytes(w, bytes[..(bytes.Length / 3)]);
            Assert.Contains("model.safetensors", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir)).Message);
            File.WriteAllBytes(w, bytes);
            // Weights of another config.
            var json = Path.Combine(dir, "model.json");
            File.WriteAllText(json, File.ReadAllText(json).Replace("\"DFf\": 64", "\"DFf\": 48"));
            var c = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir));
            Assert.Contains("mis-shaped: encoder.0.ffn.w1.weight is [64, 32] in the file, the config needs [48, 32]", c.Message);
            Assert.Contains("is not a checkpoint", Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(run + "/nothing")).Message);
        }
        finally
        {
            Directory.Delete(run, true);
        }
    }
}

[Collection(SerialCollection.Name)]
public sealed class TrainerLeakTests
{
    [Fact]
    public void LiveTensorCount_StaysFlat_OverHundredsOfSteps()
    {
        var data = new ReverseTask(64, seed: 7);
        var run = Path.Combine(Path.GetTempPath(), "trainer-leak-" + Guid.NewGuid().ToString("N"));
        try
        {
            manual_seed(8);
            using var m = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab) with { Dropout = 0.1 });
            var counts = new List<long>();
            var opts = new TrainerOptions { LearningRate = 1e-3, WarmupSteps = 10, MaxSteps = 300, EvalEverySteps = 100, Patience = 0 };
            new Trainer(m, data, ReverseTask.Vocabulary, opts, run)
            {
                OnStep = (r, _) => { if (r.Step % 50 == 0) { SerialCollection.Settle(); counts.Add(Tensor.TotalCount); } },
            }.Run();
            Assert.Equal(6, counts.Count);
            Assert.True(counts.Skip(1).All(c => c == counts[1]), $"live tensors over steps 100..300: {string.Join(", ", counts)}");
        }
        finally
        {
            Directory.Delete(run, true);
        }
    }
}
