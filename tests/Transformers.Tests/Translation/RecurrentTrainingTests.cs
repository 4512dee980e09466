using Transformers.Data;
using Transformers.Recurrent;
using Transformers.Tests.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>Serial: these tests rely on libtorch's global generator, which tests running in parallel would also draw from.</summary>
[Collection(SerialCollection.Name)]
public sealed class RecurrentTrainingTests
{
    private static string TempRun() => Path.Combine(Path.GetTempPath(), "rnn-trainer-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Trainer_LearnsTheReverseTask_WithLstmAndBahdanau()
    {
        manual_seed(3);
        using var m = new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(ReverseTask.Vocab, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau)
            with { EmbeddingSize = 32, HiddenSize = 32, AttentionSize = 32, NumLayers = 1 });
        var opts = new TrainerOptions { LearningRate = 3e-2, WarmupSteps = 20, MaxSteps = 500, EvalEverySteps = 250, Patience = 0, LabelSmoothing = 0.0 };
        var r = ReverseTaskTraining.Run(m, new ReverseTask(256, seed: 2), opts, new DecodingOptions { BeamSize = 2 });
        Assert.True(r.LastDevLoss < 0.25 && r.LastDevLoss < r.FirstDevLoss, $"dev loss {r.FirstDevLoss:F3} -> {r.LastDevLoss:F3}");
        Assert.True(r.Correct >= 6, $"{r.Correct}/8 reversed correctly");
    }

    private static RecurrentTranslatorConfig SampledConfig => RecurrentTranslatorConfig.Tiny(ReverseTask.Vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral)
        with { Dropout = 0.1, InputFeeding = true };
    private static readonly TeacherForcing Sampled = new(Ratio: 0.8, ScheduleK: 4);

    [Fact]
    public void ScheduledSampling_ResumesBitIdentically() =>
        // The sampled tokens (global generator, saved in the trainer state) and the schedule's position (the step) are both restored.
        ResumeAssert.ContinuesBitIdentically(() => new RecurrentTranslator(SampledConfig), new ReverseTask(64, seed: 1), n => TrainerTests.Options(n) with { TeacherForcing = Sampled }, n: 8,
            resumed => Assert.Equal(Sampled.RatioAt(7), resumed.TeacherForcingRatio));        // the trainer set it for the 8th step (step index 7)

    [Fact]
    public void TeacherForcingSchedule_IsBengiosInverseSigmoid_OverOptimizerSteps()
    {
        // ε_i = ratio · k / (k + exp(i / k)), by hand: k = 4, i = 0 → 4/5; i = 4 → 4/(4 + e) = 0.595390...
        Assert.Equal(0.8 * 0.8, Sampled.RatioAt(0), 12);
        Assert.Equal(0.8 * 0.5953904, Sampled.RatioAt(4), 6);
        Assert.Equal(0.5, new TeacherForcing(0.5).RatioAt(1_000_000));                         // no schedule: constant
        Assert.False(TeacherForcing.Always.Samples);
        Assert.True(new TeacherForcing(1.0, ScheduleK: 10).Samples);
        Assert.Throws<ArgumentException>(() => new TeacherForcing(1.5).Validate());
        Assert.Throws<ArgumentException>(() => new TeacherForcing(1.0, double.PositiveInfinity).Validate());
    }

    [Fact]
    public void TeacherForcing_IsRefusedForTheTransformer_WhoseDecoderReadsAllInputsAtOnce()
    {
        using var m = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab));
        var e = Assert.Throws<ArgumentException>(() => new Trainer(m, new ReverseTask(16, seed: 1), ReverseTask.Vocabulary, TrainerTests.Options(1) with { TeacherForcing = Sampled }, "unused"));
        Assert.Contains("can only be teacher-forced", e.Message);
        Assert.Throws<NotSupportedException>(() => m.TeacherForcingRatio = 0.5);
        m.TeacherForcingRatio = 1.0;                                                               // teacher forcing itself is fine
    }

    [Fact]
    public void LegacyCheckpoint_WithTheSamplingCounterInItsWeights_StillLoads()
    {
        var dir = TempRun();
        try
        {
            manual_seed(12);
            using var m = new RecurrentTranslator(SampledConfig);
            Checkpoint.Save(dir, m, ReverseTask.Vocabulary);
            // As scheduled-sampling runs wrote them before 2026-12-06: the batches seen as a float64 buffer among the weights.
            var path = Path.Combine(dir, "model.safetensors");
            var weights = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
            weights["sampling_batches"] = tensor(16.0, ScalarType.Float64);
            TorchSharp.PyBridge.Safetensors.SaveStateDict(path, weights);
            CheckpointManifest.Write(dir);
            var loaded = Checkpoint.Load(dir, TranslatorArchitecture.Gru);
            using var model = loaded.Model;
            Assert.DoesNotContain("sampling_batches", model.state_dict().Keys);
            foreach (var (name, t) in m.state_dict()) Assert.True(model.state_dict()[name].equal(t).all().item<bool>(), name);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TeacherForcingRatio_AppliesInTrainingOnly()
    {
        var (src, tgt) = (tensor(new long[,] { { 5, 6, 7, 2 }, { 8, 9, 2, 0 } }), tensor(new long[,] { { 1, 7, 6, 5, 4 }, { 1, 9, 8, 0, 0 } }));
        var mask = src.ne(0);
        var config = RecurrentTranslatorConfig.Tiny(ReverseTask.Vocab, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau);
        manual_seed(21);
        using var forced = new RecurrentTranslator(config);
        manual_seed(21);
        using var sampled = new RecurrentTranslator(config) { TeacherForcingRatio = 0.0 };      // every input after BOS is the model's own draw
        RecurrentTranslatorTests.Sharpen(forced);
        sampled.load_state_dict(forced.state_dict());
        using var _ = no_grad();
        forced.train();
        sampled.train();
        var reference = forced.Forward(src, mask, tgt);
        var own = sampled.Forward(src, mask, tgt);
        TensorAssert.Close(reference[.., 0], own[.., 0], 1e-5, "step 0 reads BOS in both");
        Assert.True((reference[.., 1..] - own[.., 1..]).abs().max().item<float>() > 1e-3, "sampled inputs must change later steps");
        sampled.eval();
        forced.eval();
        TensorAssert.Close(forced.Forward(src, mask, tgt), sampled.Forward(src, mask, tgt), 1e-5, "evaluation is always teacher-forced");
        Assert.Equal(forced.state_dict().Keys.Order(), sampled.state_dict().Keys.Order());         // the ratio is no part of the weights
        Assert.DoesNotContain("TeacherForcing", sampled.ConfigJson());                            // nor of the config
    }

    [Fact]
    public void DecodingAndTrainingSteps_LeaveNoLiveTensors()
    {
        using var m = RecurrentTranslatorTests.Tiny(31, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau, inputFeeding: true);
        var batch = new TranslationBatch([[5, 6, 7], [8]], [[7, 6, 5], [8]]).ToTensors(m.Special);
        void Round()
        {
            Decoder.Translate(m, batch.Source, batch.SourceMask, new DecodingOptions());
            Decoder.Translate(m, batch.Source, batch.SourceMask, new DecodingOptions { BeamSize = 3 });
            m.train();
            using (NewDisposeScope())
            {
                m.zero_grad();
                var logits = m.Forward(batch.Source, batch.SourceMask, batch.TargetIn);
                LabelSmoothedCrossEntropy.Compute(logits, batch.TargetOut, m.Special.Pad, 0.1).Loss.backward();
            }
            m.eval();
        }
        Round();                                                       // creates the gradients once
        SerialCollection.Settle();
        long before = Tensor.TotalCount;
        for (int i = 0; i < 3; i++) Round();
        SerialCollection.Settle();
        Assert.Equal(before, Tensor.TotalCount);
    }
}
