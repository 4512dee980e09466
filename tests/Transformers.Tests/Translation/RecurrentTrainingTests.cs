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

    private static RecurrentTranslatorConfig Sampled => RecurrentTranslatorConfig.Tiny(ReverseTask.Vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral)
        with { TeacherForcingRatio = 0.8, ScheduledSamplingK = 4, Dropout = 0.1, InputFeeding = true };

    [Fact]
    public void ScheduledSampling_ResumesBitIdentically() =>
        // The sampled tokens (global generator) and the schedule's position (a buffer) are both restored.
        ResumeAssert.ContinuesBitIdentically(() => new RecurrentTranslator(Sampled), new ReverseTask(64, seed: 1), TrainerTests.Options, n: 8,
            resumed => Assert.Equal(2 * 8, resumed.state_dict()["sampling_batches"].item<double>()));   // two batches per optimizer step

    [Fact]
    public void ScheduledSampling_SurvivesCheckpointAveraging()
    {
        var run = TempRun();
        try
        {
            manual_seed(12);
            using var m = new RecurrentTranslator(Sampled);
            var opts = TrainerTests.Options(4) with { EvalEverySteps = 2, AverageLastK = 2, AccumulationSteps = 1 };
            new Trainer(m, new ReverseTask(32, seed: 3), ReverseTask.Vocabulary, opts, run).Run();
            var averaged = Checkpoint.Load(Path.Combine(run, "averaged"), TranslatorArchitecture.Gru);
            using var model = averaged.Model;
            Assert.Equal((2.0 + 4.0) / 2, model.state_dict()["sampling_batches"].item<double>());   // the mean of batches seen at steps 2 and 4
        }
        finally
        {
            Directory.Delete(run, true);
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
        using var sampled = new RecurrentTranslator(config with { TeacherForcingRatio = 0.0 });   // every input after BOS is the model's own draw
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
        Assert.DoesNotContain("sampling_batches", forced.state_dict().Keys);
        using var scheduled = new RecurrentTranslator(config with { ScheduledSamplingK = 4 });
        Assert.Contains("sampling_batches", scheduled.state_dict().Keys);
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
