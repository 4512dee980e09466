using BenchmarkDotNet.Attributes;
using TorchSharp;
using Transformers.Data;
using Transformers.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Lab.Translation;

/// <summary>
/// One training step (forward, label-smoothed loss, backward, clipping, AdamW) of the parameter-matched Small presets:
/// <see cref="TransformerConfig.Small"/> (the baseline) against <see cref="RecurrentTranslatorConfig.Small"/> with an LSTM,
/// a GRU and an RNN, all with Bahdanau attention, dropout as in the presets. Batch 64, source and target both
/// <see cref="Length"/> tokens without padding (so target tokens per step = 64 · Length), vocabulary 8000, float32, CPU,
/// torch threads fixed to <see cref="Threads"/>. The Ratio column is time / Transformer time at the same length, i.e. the
/// inverse of the tokens/s ratio. Kept short on purpose (1 warm-up, 3 iterations of one step) because the cores are shared.
/// Run: <c>dotnet run -c Release --project experiments/Transformers.Lab -- bench --filter '*Recurrent*'</c>.
/// </summary>
[WarmupCount(1)]
[IterationCount(3)]
[InvocationCount(1)]
[MedianColumn]
[MinColumn]
public class RecurrentTranslatorBenchmarks
{
    /// <summary>libtorch intra-op threads for every benchmark.</summary>
    public const int Threads = 1;

    private const int Batch = 64;
    private const int Vocab = 8000;

    private readonly Dictionary<string, (Seq2SeqModel Model, optim.Optimizer Optimizer)> models = [];
    private BatchTensors batch = null!;

    [Params(16, 32, 64, 128)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        manual_seed(1);
        Add("transformer", new TransformerTranslator(TransformerConfig.Small(Vocab)));
        foreach (var cell in new[] { RecurrentCellKind.Lstm, RecurrentCellKind.Gru, RecurrentCellKind.Rnn })
            Add(TranslatorFactory.NameOf(TranslatorFactory.ArchitectureOf(cell)), new RecurrentTranslator(RecurrentTranslatorConfig.Small(Vocab, cell)));
        var rng = new Random(2);
        int[] Sentence() => Enumerable.Range(0, Length - 1).Select(_ => rng.Next(4, Vocab)).ToArray(); // + EOS = Length
        var sentences = Enumerable.Range(0, Batch).Select(_ => (Sentence(), Sentence())).ToList();
        batch = new TranslationBatch(sentences.Select(p => p.Item1).ToList(), sentences.Select(p => p.Item2).ToList())
            .ToTensors(models["transformer"].Model.Special);                                     // src, tgt: [64, Length]
    }

    private void Add(string name, Seq2SeqModel model)
    {
        model.train();
        models[name] = (model, optim.AdamW(model.parameters(), 7e-4, 0.9, 0.98, 1e-9, 1e-4));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (model, optimizer) in models.Values) { optimizer.Dispose(); model.Dispose(); }
        models.Clear();
        foreach (var t in new[] { batch.Source, batch.SourceMask, batch.TargetIn, batch.TargetOut }) t.Dispose();
    }

    private float Step(string name)
    {
        var (model, optimizer) = models[name];
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var logits = model.Forward(batch.Source, batch.SourceMask, batch.TargetIn);             // [64, Length, vocab]
        var loss = LabelSmoothedCrossEntropy.Compute(logits, batch.TargetOut, model.Special.Pad, 0.1).Loss;
        loss.div(Batch * Length).backward();
        nn.utils.clip_grad_norm_(model.parameters(), 1.0);
        optimizer.step();
        return loss.item<float>();
    }

    [Benchmark(Baseline = true)]
    public float Transformer() => Step("transformer");

    [Benchmark]
    public float LstmBahdanau() => Step("lstm");

    [Benchmark]
    public float GruBahdanau() => Step("gru");

    [Benchmark]
    public float RnnBahdanau() => Step("rnn");
}
