using Transformers.Modules;
using Transformers.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>
/// Data-parallel workers (TrainerOptions.Workers): replicas on their own threads must give exactly the result of one
/// worker accumulating the same batches, because dropout noise is seeded per batch, not per thread or per moment.
/// Serial: the multi-layer recurrent model's fused dropout draws from libtorch's global generator.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class DataParallelTests
{
    public static TheoryData<string> Models => ["transformer", "gru-2-layers"];

    /// <summary>Tiny models with dropout everywhere it can be: embeddings, sub-layers, attention probabilities, between recurrent layers.</summary>
    private static Seq2SeqModel Build(string name) => name switch
    {
        "transformer" => new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab) with { Dropout = 0.2, AttentionDropout = 0.2 }),
        _ => new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(ReverseTask.Vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral) with { Dropout = 0.2 }),
    };

    private static TrainerOptions Options(long steps, int workers, int accumulate) => new()
    {
        LearningRate = 3e-3, WarmupSteps = 2, Decay = LearningRateDecay.InverseSqrt, MaxSteps = steps, Patience = 0, MaxEpochs = 100,
        Workers = workers, AccumulationSteps = accumulate,
    };

    private static (List<double> Losses, Dictionary<string, Tensor> Weights) Train(string model, TrainerOptions options, int pairs = 96)
    {
        var run = Path.Combine(Path.GetTempPath(), "dp-" + Guid.NewGuid().ToString("N"));
        try
        {
            manual_seed(11);
            using var m = Build(model);
            var losses = new List<double>();
            new Trainer(m, new ReverseTask(pairs, seed: 3), ReverseTask.Vocabulary, options, run) { OnStep = (r, _) => losses.Add(r.Loss) }.Run();
            // Copies: the state dict holds the model's own parameters, which die with the model (disposed here, or
            // finalized by the GC once the model is unreachable — which made this test fail now and then).
            return (losses, m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()));
        }
        finally
        {
            if (Directory.Exists(run)) Directory.Delete(run, true);
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void TwoWorkers_GiveExactlyWhatOneWorkerAccumulatingTwoBatchesGives(string model)
    {
        var (oneLosses, one) = Train(model, Options(6, workers: 1, accumulate: 2));
        var (twoLosses, two) = Train(model, Options(6, workers: 2, accumulate: 1));
        Assert.Equal(6, oneLosses.Count);
        Assert.Equal(oneLosses, twoLosses);                                   // exact
        foreach (var (name, t) in one)
            Assert.True(t.equal(two[name]).all().item<bool>(), $"{name} differs between 1 worker × 2 batches and 2 workers × 1 batch");
    }

    /// <summary>
    /// 40 pairs = 5 batches of 8: each epoch ends with a step of one batch, which leaves the second worker idle; the
    /// steps after it must still start from the updated weights on every worker.
    /// </summary>
    [Fact]
    public void TwoWorkers_StayExact_AcrossEpochsThatEndWithAnOddBatch()
    {
        var (oneLosses, one) = Train("transformer", Options(9, workers: 1, accumulate: 2), pairs: 40);
        var (twoLosses, two) = Train("transformer", Options(9, workers: 2, accumulate: 1), pairs: 40);
        Assert.Equal(9, oneLosses.Count);                                      // 3 epochs of 3 steps (2 + 2 + 1 batches)
        Assert.Equal(oneLosses, twoLosses);
        foreach (var (name, t) in one)
            Assert.True(t.equal(two[name]).all().item<bool>(), $"{name} differs after epochs ending with a one-batch step");
    }

    [Fact]
    public void DropoutIsOn_SoTheEqualityAboveIsNotVacuous()
    {
        // With the dropout noise of another seed the same run ends elsewhere: the noise is drawn and it matters.
        var (a, _) = Train("transformer", Options(3, workers: 2, accumulate: 1));
        var (b, _) = Train("transformer", Options(3, workers: 2, accumulate: 1) with { Seed = 2 });
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void TwoWorkers_ResumeBitIdentically() =>
        ResumeAssert.ContinuesBitIdentically(() => Build("transformer"), new ReverseTask(128, seed: 1), n => Options(n, workers: 2, accumulate: 1), n: 12);

    [Fact]
    public void ScheduledSampling_IsRefusedWithMoreThanOneWorker()
    {
        using var m = new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(ReverseTask.Vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral));
        var options = Options(1, workers: 2, accumulate: 1) with { TeacherForcing = new TeacherForcing(1.0, ScheduleK: 10) };
        var e = Assert.Throws<ArgumentException>(() => new Trainer(m, new ReverseTask(16, seed: 1), ReverseTask.Vocabulary, options, "unused"));
        Assert.Contains("one worker only", e.Message);
    }

    /// <summary>
    /// Every tensor a step makes is disposed by the step (dispose scopes), none left to the garbage collector: the number
    /// of live tensors does not grow from step 4 to step 12. A tensor left to the finalizer holds its native memory
    /// until a collection, which the data-parallel fence (GcFence) holds off during a step.
    /// </summary>
    [Theory]
    [InlineData("transformer", 1)]
    [InlineData("transformer", 2)]
    [InlineData("gru-2-layers", 2)]
    public void LiveTensors_DoNotGrowFromStepToStep(string model, int workers)
    {
        var run = Path.Combine(Path.GetTempPath(), "dp-" + Guid.NewGuid().ToString("N"));
        try
        {
            manual_seed(11);
            using var m = Build(model);
            var live = new Dictionary<long, long>();
            var options = Options(12, workers, accumulate: 1) with { EvalEverySteps = 1000 };           // no evaluation between the samples
            new Trainer(m, new ReverseTask(400, seed: 3), ReverseTask.Vocabulary, options, run) { OnStep = (r, _) => live[r.Step] = Tensor.TotalCount }.Run();
            Assert.Equal(12, live.Count);
            // The count is the process's: a collection may finalize other tests' garbage meanwhile and lower it, never raise it.
            Assert.True(live[12] <= live[4], $"live tensors after each step: {string.Join(", ", live.OrderBy(kv => kv.Key).Select(kv => kv.Value))}");
        }
        finally
        {
            if (Directory.Exists(run)) Directory.Delete(run, true);
        }
    }
}

public sealed class DropoutNoiseTests
{
    [Fact]
    public void SeededDropout_ZeroesOrScales_AndRepeatsForTheSameSeed()
    {
        var x = arange(1, 20_001, dtype: ScalarType.Float32);
        Tensor Draw(ulong seed)
        {
            using var _ = DropoutNoise.Use(seed, CPU);
            return DropoutNoise.Apply(x, 0.25, training: true);
        }
        var a = Draw(7);
        var kept = a.ne(0);
        // Every element is 0 or x · (1 / 0.75) (libtorch's dropout scales the same way), the share zeroed is near 0.25 (20,000 draws: ±4 standard deviations is ±0.012).
        Assert.True(a.masked_select(kept).equal(x.masked_select(kept) * (1f / 0.75f)).all().item<bool>());
        double zeroed = 1 - kept.to(ScalarType.Float64).mean().item<double>();
        Assert.InRange(zeroed, 0.238, 0.262);
        Assert.True(Draw(7).equal(a).all().item<bool>());
        Assert.False(Draw(8).equal(a).all().item<bool>());
    }

    [Fact]
    public void OutsideTraining_DropoutIsTheIdentity()
    {
        var x = ones(4, 4);
        using var _ = DropoutNoise.Use(1, CPU);
        Assert.Same(x, DropoutNoise.Apply(x, 0.5, training: false));
        Assert.Same(x, DropoutNoise.Apply(x, 0.0, training: true));
    }

    [Fact]
    public void BatchSeeds_DifferByRunEpochAndBatch()
    {
        var seeds = new HashSet<ulong>();
        for (int seed = 0; seed < 3; seed++)
            for (int epoch = 0; epoch < 10; epoch++)
                for (int batch = 0; batch < 100; batch++)
                    seeds.Add(DropoutNoise.BatchSeed(seed, epoch, batch));
        Assert.Equal(3 * 10 * 100, seeds.Count);
    }
}
