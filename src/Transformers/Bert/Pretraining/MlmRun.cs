using Transformers.Data;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Training;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Bert.Pretraining;

/// <summary>Model sizes for pretraining, with HF's <c>config.json</c> names.</summary>
public enum MlmPreset
{
    /// <summary>2 layers, hidden 64, 2 heads, feed-forward 256: for tests (seconds).</summary>
    Tiny,
    /// <summary>4 layers, hidden 256, 4 heads, feed-forward 1024 (about 3 M parameters besides the embeddings): 30 minutes on 2 cores teach it something.</summary>
    Small,
}

/// <summary>What a pretraining run is: the model size, the vocabulary, the data and trainer options.</summary>
public sealed record MlmRunSpec
{
    public MlmPreset Preset { get; init; } = MlmPreset.Small;
    /// <summary>Size of the WordPiece vocabulary trained on the run's text.</summary>
    public int VocabSize { get; init; } = 8000;
    /// <summary>Keep case and accents (French); false is BERT-uncased.</summary>
    public bool Cased { get; init; }
    public MlmDataOptions Data { get; init; } = new();
    public MlmTrainerOptions Trainer { get; init; } = new() { MaxSeconds = 30 * 60, EvalEverySeconds = 5 * 60 };

    /// <summary>The model's config for <paramref name="vocabSize"/> tokens.</summary>
    public BertConfig Config(int vocabSize, int padId) => Preset switch
    {
        MlmPreset.Tiny => new BertConfig
        {
            VocabSize = vocabSize, HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 256,
            MaxPositionEmbeddings = Data.MaxLength, PadTokenId = padId, HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1,
        },
        _ => new BertConfig
        {
            VocabSize = vocabSize, HiddenSize = 256, NumHiddenLayers = 4, NumAttentionHeads = 4, IntermediateSize = 1024,
            MaxPositionEmbeddings = Data.MaxLength, PadTokenId = padId, HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1,
        },
    };
}

/// <summary>The text a pretraining run reads: training sentences and held-out ones.</summary>
public sealed record MlmText(IReadOnlyList<string> Train, IReadOnlyList<string> HeldOut)
{
    /// <summary>Held-out sentences at most (the rest of every 50th line of text files is kept for evaluation).</summary>
    public const int MaxHeldOut = 2000;

    /// <summary>
    /// <c>bundled</c>: both sides of the bundled corpus's train split (French and English sentences), held out: both
    /// sides of its dev split. Text files: one sentence per line (empty lines skipped), every 50th held out.
    /// </summary>
    public static MlmText Load(IReadOnlyList<string> inputs)
    {
        if (inputs.Count == 1 && inputs[0] == BundledCorpus.Name)
        {
            var split = BundledCorpus.LoadSplit();
            return new MlmText(split.Train.Select(p => p.Source).Concat(split.Train.Select(p => p.Target)).ToList(),
                               split.Dev.Take(MaxHeldOut / 2).Select(p => p.Source).Concat(split.Dev.Take(MaxHeldOut / 2).Select(p => p.Target)).ToList());
        }
        var train = new List<string>();
        var heldOut = new List<string>();
        long line = 0;
        foreach (var path in inputs)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"--input {path}: file not found", path);
            using var stream = File.OpenRead(path);
            foreach (var text in TextLines.Read(stream))
            {
                if (string.IsNullOrWhiteSpace(text)) continue;
                if (line++ % 50 == 49 && heldOut.Count < MaxHeldOut) heldOut.Add(text);
                else train.Add(text);
            }
        }
        if (train.Count == 0) throw new ArgumentException($"--input {string.Join(" ", inputs)}: no text (every line is empty)");
        return new MlmText(train, heldOut);
    }
}

/// <summary>
/// A pretraining run directory: takes its lock, resumes from <c>last/</c> (its tokenizer and weights) or trains a
/// WordPiece vocabulary on the text and builds the model, then runs the <see cref="MlmTrainer"/>. What `transformers
/// pretrain` calls, and what a user's own program can call.
/// </summary>
public sealed class MlmRun : IDisposable
{
    private readonly RunDirectory directory;
    private readonly MlmCheckpoint.Loaded? resumed;

    public string Path => directory.Path;
    public BertForMaskedLM Model { get; }
    public MlmData Data { get; }
    public MlmRunSpec Spec { get; }
    public Device Device { get; }
    /// <summary>Whether the run continues from its last checkpoint.</summary>
    public bool Resumed => resumed is not null;

    private MlmRun(RunDirectory directory, MlmText text, MlmRunSpec spec, Device device, Action<string> log, RunSettings? settings)
    {
        this.directory = directory;
        foreach (var repair in directory.Repairs) log($"note: {repair}");
        if (settings is not null)
            foreach (var change in directory.CheckAndSaveSettings(settings)) log($"note: changed on resume: {change}");
        Spec = spec;
        Device = device;
        WordPieceTokenizer tokenizer;
        if (directory.CanResume)
        {
            resumed = MlmCheckpoint.Load(directory.LastDir, withTrainerState: true);
            Model = resumed.Model;
            tokenizer = resumed.Tokenizer;
            log($"resuming {directory.LastDir} at step {resumed.State?.Step ?? 0}");
        }
        else
        {
            directory.CheckFreshStart();
            var trainer = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = spec.VocabSize, Tokenizer = spec.Cased ? WordPieceOptions.Cased : WordPieceOptions.Uncased });
            tokenizer = WordPieceTokenizer.Create(trainer.Train(text.Train).Vocabulary, spec.Cased ? WordPieceOptions.Cased : WordPieceOptions.Uncased);
            manual_seed(spec.Trainer.Seed);
            Model = new BertForMaskedLM(spec.Config(tokenizer.Vocabulary.Count, tokenizer.PaddingId));
            log($"vocabulary: {tokenizer.Vocabulary.Count:N0} WordPiece tokens ({(spec.Cased ? "cased" : "uncased")}); model: {Model.parameters().Sum(p => p.numel()):N0} parameters");
        }
        Data = new MlmData(text.Train, text.HeldOut, tokenizer, spec.Data);
        log($"text: {Data.TrainSentences:N0} training sentences ({Data.TrainTokens:N0} tokens with [CLS]/[SEP]), {text.HeldOut.Count:N0} held out; " +
            $"always guessing the most frequent piece ('{tokenizer.IdToToken(Data.MostFrequentToken)}') gets {Data.UnigramAccuracy:P1} of the held-out masks");
    }

    /// <summary>
    /// Opens (or creates) the run at <paramref name="path"/>; errors name the directory (locked by another process, not a
    /// run). <paramref name="settings"/> (the command's options) are saved in run.json; a resume with other fixed ones is refused.
    /// </summary>
    public static MlmRun Open(string path, MlmText text, MlmRunSpec spec, string device = "cpu", Action<string>? log = null, RunSettings? settings = null)
    {
        var held = RunDirectory.Open(path);
        try
        {
            return new MlmRun(held, text, spec, TorchRuntime.Device(device), log ?? (_ => { }), settings);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    public TrainingOutcome Train(Action<MlmStep>? onStep = null, Action<MlmEvaluation, bool>? onEval = null, CancellationToken cancellation = default)
    {
        var trainer = new MlmTrainer(Model, Data, Spec.Trainer, Path, Device) { OnStep = onStep, OnEval = onEval, Cancellation = cancellation };
        if (resumed is not null) trainer.Resume(resumed);
        return trainer.Run();
    }

    public void Dispose()
    {
        Model.Dispose();
        directory.Dispose();
    }
}
