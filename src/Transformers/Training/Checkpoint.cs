using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using Transformers.Tokenizer;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Training;

/// <summary>Where the trainer is: enough to continue bit-identically after a restart.</summary>
public sealed record TrainerState : TrainingPosition
{
    /// <summary>Target tokens trained on so far.</summary>
    public long TargetTokens { get; set; }
    /// <summary>
    /// The best evaluation's score, which best/ and early stopping follow: its dev BLEU, or minus its dev loss in a run
    /// that computes no BLEU (<see cref="Trainer.DevBleu"/> unset).
    /// </summary>
    public double BestScore { get; set; } = double.NegativeInfinity;
    public long BestStep { get; set; }
    /// <summary>Evaluations since the best one (early stopping counts these).</summary>
    public int EvalsWithoutImprovement { get; set; }
    /// <summary>libtorch's CPU generator state, base64 (training's dropout draws per batch from <see cref="Transformers.Modules.DropoutNoise"/> instead; kept for code that draws from the global generator).</summary>
    public string RngState { get; set; } = "";
    /// <summary>The warmup given in steps was longer than the budget allows and was replaced by a share of the budget (kept on resume).</summary>
    public bool WarmupShortened { get; set; }
    /// <summary>Every evaluation so far.</summary>
    public List<EvalRecord> History { get; set; } = [];
}

/// <summary>One evaluation on the dev split.</summary>
public sealed record EvalRecord(long Step, int Epoch, double ElapsedSeconds, long TargetTokens, double DevLoss, double DevPerplexity, double? DevBleu);

/// <summary>
/// A checkpoint directory: <c>model.json</c> (architecture + config), <c>model.safetensors</c>, <c>vocab.txt</c> and
/// <c>tokenizer_config.json</c> (the tokenizer, as HF writes it), usually <c>spacing.tsv</c> (the detokenizer), for
/// resuming <c>optimizer.bin</c> and <c>trainer_state.json</c>, and last <c>manifest.json</c>, the size and SHA-256 of
/// every other file. Written into a temporary sibling directory and renamed into place (<see cref="AtomicDirectory"/>),
/// so a kill at any instant leaves a complete checkpoint that <see cref="RecoverRun"/> puts back; loading verifies the
/// manifest and names the file that does not match it.
/// </summary>
public static class Checkpoint
{
    private const string ModelFile = "model.json", WeightsFile = "model.safetensors", VocabFile = "vocab.txt",
                         OptimizerFile = "optimizer.bin";
    /// <summary>
    /// A buffer that recurrent models trained with scheduled sampling saved before 2026-12-06 (batches seen); the trainer
    /// counts steps now (<see cref="TeacherForcing"/>), and loading drops it.
    /// </summary>
    private const string LegacySamplingCounter = "sampling_batches";
    /// <summary>The version of <c>model.json</c> this build writes and reads.</summary>
    public const int FormatVersion = 1;
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private sealed record ModelDescription(string Architecture, JsonElement Config, int VocabSize, int FormatVersion = 1);

    /// <param name="tokenizer">the options of the tokenizer over <paramref name="vocabulary"/>, saved as <c>tokenizer_config.json</c> (null: none saved; loading then assumes <see cref="TranslationData.TokenizerOptions"/>)</param>
    /// <param name="withFiles">files copied into the checkpoint as they are (a run's spacing model: a copied checkpoint then detokenizes on its own)</param>
    public static void Save(string dir, Seq2SeqModel model, IReadOnlyList<string> vocabulary, OptimizerHelper? optimizer = null, TrainerState? state = null,
                            IEnumerable<string>? withFiles = null, WordPieceOptions? tokenizer = null)
    {
        if (vocabulary.Count != model.VocabSize)
            throw new ArgumentException($"vocabulary has {vocabulary.Count} entries, the model {model.VocabSize}");
        AtomicDirectory.Write(dir, tmp =>
        {
            WriteModel(tmp, model, vocabulary, tokenizer, WeightPrecision.Float32);
            optimizer?.save_state_dict(Path.Combine(tmp, OptimizerFile));
            if (state is not null)
                state.WriteTo(tmp);
            foreach (var file in withFiles ?? [])
                if (File.Exists(file)) File.Copy(file, Path.Combine(tmp, Path.GetFileName(file)));
            CheckpointManifest.Write(tmp);                                                     // last: its presence marks the directory complete
        });
    }

    /// <summary>
    /// What inference needs, into <paramref name="dir"/>: <c>model.json</c>, <c>model.safetensors</c>, <c>vocab.txt</c> and
    /// (when <paramref name="tokenizer"/> is given) <c>tokenizer_config.json</c>.
    /// With <see cref="WeightPrecision.Float16"/> the parameters are stored rounded to float16 (an error names any that
    /// overflow its ±65504); buffers (the sinusoid table) stay as they are, being computed constants, not learned weights.
    /// </summary>
    internal static void WriteModel(string dir, Seq2SeqModel model, IReadOnlyList<string> vocabulary, WordPieceOptions? tokenizer, WeightPrecision precision)
    {
        using (var config = JsonDocument.Parse(model.ConfigJson()))
        {
            var description = new ModelDescription(model.ArchitectureName, config.RootElement.Clone(), model.VocabSize);
            File.WriteAllText(Path.Combine(dir, ModelFile), JsonSerializer.Serialize(description, Json), new UTF8Encoding(false));
        }
        var parameters = model.named_parameters().Select(p => p.name).ToHashSet(StringComparer.Ordinal);
        using var scope = NewDisposeScope();                                                   // the stored copies and the range checks
        var weights = new Dictionary<string, Tensor>();
        foreach (var (name, t) in model.state_dict())
        {
            var stored = t.detach().cpu().contiguous();
            if (precision == WeightPrecision.Float16 && parameters.Contains(name) && stored.is_floating_point())
            {
                var half = stored.to(ScalarType.Float16);
                if (half.isinf().logical_and(stored.isfinite()).any().item<bool>())
                    throw new InvalidDataException($"{name} has values beyond float16's range (±65504): it cannot be stored in float16; export it as float32");
                stored = half;
            }
            weights[name] = stored;
        }
        Safetensors.SaveStateDict(Path.Combine(dir, WeightsFile), weights);
        File.WriteAllLines(Path.Combine(dir, VocabFile), vocabulary, new UTF8Encoding(false));
        if (tokenizer is not null) TokenizerConfig.Write(Path.Combine(dir, TokenizerConfig.FileName), tokenizer);
    }

    /// <summary>A loaded checkpoint: the model (eval mode), its vocabulary and tokenizer options, and where training stood.</summary>
    public sealed record Loaded(Seq2SeqModel Model, string[] Vocabulary, WordPieceOptions TokenizerOptions, TrainerState? State, string Directory)
    {
        public string OptimizerPath => Path.Combine(Directory, OptimizerFile);

        /// <summary>The tokenizer the model was trained with: this checkpoint's vocabulary and <c>tokenizer_config.json</c>.</summary>
        public WordPieceTokenizer Tokenizer() =>
            WordPieceTokenizer.Create(new global::Transformers.Tokenizer.Models.Vocabulary(Vocabulary, Path.Combine(Directory, VocabFile)), TokenizerOptions);

        /// <summary>The spacing model that detokenizes this checkpoint's output (beside it, or at the root of its run); null if none.</summary>
        public SpacingModel? Spacing() => SpacingModel.Find(Directory);
    }

    /// <summary>
    /// Loads a checkpoint directory (for <c>runs/NAME</c>, its <c>best</c> or <c>last</c> sub-directory is taken; for
    /// <c>builtin</c>, the translator that ships with this build, see <see cref="BuiltInTranslator"/>).
    /// Errors name the file and the mismatch: a file that does not match the manifest, an unknown format version,
    /// unknown or different architecture, invalid config, truncated weights, a vocabulary whose size does not match.
    /// Inference reads only the weights, config and vocabulary; <paramref name="withTrainerState"/> also reads (and
    /// verifies) the trainer state and the optimizer's, for resuming.
    /// </summary>
    public static Loaded Load(string dir, TranslatorArchitecture? expectArchitecture = null, bool withTrainerState = false)
    {
        dir = Resolve(dir);
        CheckpointManifest.Verify(dir, withTrainerState ? null : [ModelFile, WeightsFile, VocabFile, TokenizerConfig.FileName, SpacingModel.FileName]);
        var modelPath = Path.Combine(dir, ModelFile);
        ModelDescription description;
        try
        {
            description = JsonSerializer.Deserialize<ModelDescription>(File.ReadAllText(modelPath), Json)
                          ?? throw new InvalidDataException($"{modelPath}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{modelPath}: not a model description ({e.Message})", e);
        }
        if (description.FormatVersion != FormatVersion)
            throw new InvalidDataException($"{modelPath}: format version {description.FormatVersion}; this build reads version {FormatVersion} (was it written by a newer toolkit?)");
        var architecture = TranslatorFactory.Parse(description.Architecture, modelPath);
        if (expectArchitecture is { } expected && architecture != expected)
            throw new InvalidDataException($"{modelPath}: the checkpoint is a '{description.Architecture}' model, not '{TranslatorFactory.NameOf(expected)}'");
        var vocabPath = Path.Combine(dir, VocabFile);
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"{dir} has no {VocabFile}", vocabPath);
        var vocabulary = File.ReadAllLines(vocabPath);
        var tokenizerOptions = ReadTokenizerOptions(dir);
        if (vocabulary.Length != description.VocabSize)
            throw new InvalidDataException($"{vocabPath} has {vocabulary.Length} tokens, but the weights in {dir} are for a vocabulary of {description.VocabSize}");
        var model = TranslatorFactory.FromConfig(architecture, description.Config.GetRawText(), modelPath);
        var weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath)) throw new FileNotFoundException($"{dir} has no {WeightsFile}", weightsPath);
        Dictionary<string, Tensor> weights;
        try
        {
            weights = Safetensors.LoadStateDict(weightsPath);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            model.Dispose();
            throw new InvalidDataException($"{weightsPath}: cannot read the weights ({e.GetType().Name}: {e.Message}); is the file truncated?", e);
        }
        if (weights.Remove(LegacySamplingCounter, out var counter)) counter.Dispose();
        try
        {
            StateDicts.LoadStrict(model, weights, weightsPath, describe: $"{description.Architecture} config in {modelPath}");
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
        model.eval();
        return new Loaded(model, vocabulary, tokenizerOptions, withTrainerState ? ReadState(dir) : null, dir);
    }

    /// <summary>
    /// The tokenizer of checkpoint <paramref name="dir"/> (a run directory resolves as in <see cref="Load"/>) without
    /// loading its weights: its <c>vocab.txt</c> and <c>tokenizer_config.json</c>, checked against the manifest.
    /// </summary>
    public static WordPieceTokenizer LoadTokenizer(string dir)
    {
        dir = Resolve(dir);
        CheckpointManifest.Verify(dir, [VocabFile, TokenizerConfig.FileName]);
        var vocabPath = Path.Combine(dir, VocabFile);
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"{dir} has no {VocabFile}", vocabPath);
        return WordPieceTokenizer.Create(global::Transformers.Tokenizer.Models.Vocabulary.Load(vocabPath), ReadTokenizerOptions(dir));
    }

    /// <summary>
    /// The options in <c>tokenizer_config.json</c>; a checkpoint without one (written before 2026-12-06, or saved
    /// without options) has the translator's tokenizer, <see cref="TranslationData.TokenizerOptions"/>.
    /// </summary>
    private static WordPieceOptions ReadTokenizerOptions(string dir)
    {
        var path = Path.Combine(dir, TokenizerConfig.FileName);
        return File.Exists(path) ? TokenizerConfig.Read(path) : TranslationData.TokenizerOptions;
    }

    /// <summary>The trainer state saved in checkpoint <paramref name="dir"/>; null if it has none.</summary>
    internal static TrainerState? ReadState(string dir) => TrainingPosition.ReadFrom<TrainerState>(dir, json =>
    {
        // Written before 2026-12-06, the score was called BestDevBleu (and held minus the dev loss in a run without BLEU).
        if (!json.ContainsKey(nameof(TrainerState.BestScore)) && json["BestDevBleu"] is { } legacy)
        {
            json.Remove("BestDevBleu");
            json[nameof(TrainerState.BestScore)] = legacy.DeepClone();
        }
    });

    /// <summary>Whether <paramref name="dir"/> is a complete checkpoint: its manifest is there and every file matches it.</summary>
    public static bool IsComplete(string dir)
    {
        if (!File.Exists(Path.Combine(dir, CheckpointManifest.FileName))) return false;
        try { CheckpointManifest.Verify(dir); return true; }
        catch (InvalidDataException) { return false; }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// Repairs every checkpoint of run <paramref name="runDir"/> (<c>last</c>, <c>best</c>, <c>averaged</c>,
    /// <c>tokens-N</c>, <c>history/step-N</c>) that a kill during its save left missing or doubled (see
    /// <see cref="AtomicDirectory"/>), and removes leftover temporary directories. Only the process holding the run's
    /// lock may call it. Returns a line per repair.
    /// </summary>
    public static IReadOnlyList<string> RecoverRun(string runDir)
    {
        var notes = new List<string>();
        foreach (var temp in Directory.Exists(runDir) ? Directory.GetFiles(runDir, ".*.tmp") : [])   // AtomicFile's (spacing.tsv, train.jsonl, run.json)
        {
            File.Delete(temp);
            notes.Add($"removed {Path.GetFileName(temp)}, a file a killed write left behind");
        }
        foreach (var root in new[] { runDir, Path.Combine(runDir, "history") })
        {
            if (!Directory.Exists(root)) continue;
            var names = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>()
                .Select(n => n.EndsWith(".old", StringComparison.Ordinal) ? n[..^4]
                           : n.StartsWith('.') && n.EndsWith(".tmp", StringComparison.Ordinal) && n.LastIndexOf('.', n.Length - 5) is > 0 and var dot ? n[1..dot]
                           : null)
                .OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            foreach (var name in names)
                if (AtomicDirectory.Recover(Path.Combine(root, name), IsComplete) is { } note)
                    notes.Add(root == runDir ? note : $"history/{note}");
        }
        return notes;
    }

    /// <summary>
    /// A run directory resolves to its best checkpoint, else its last; a checkpoint directory to itself; <c>builtin</c> to
    /// the built-in translator's directory (<see cref="BuiltInTranslatorMissingException"/> when this build has none; a
    /// folder that happens to be called builtin is reached as <c>./builtin</c>).
    /// </summary>
    public static string Resolve(string dir) =>
        BuiltInTranslator.IsBuiltIn(dir) ? BuiltInTranslator.Directory() : ResolveIn(dir, ModelFile, "a checkpoint");

    /// <summary>
    /// A checkpoint directory (one that holds <paramref name="marker"/>) is itself; a run directory is its best/, else its
    /// last/. Otherwise the error says <paramref name="dir"/> is not <paramref name="what"/>. Shared by every kind of run.
    /// </summary>
    public static string ResolveIn(string dir, string marker, string what)
    {
        if (File.Exists(Path.Combine(dir, marker))) return dir;
        foreach (var sub in new[] { "best", "last" })
            if (File.Exists(Path.Combine(dir, sub, marker))) return Path.Combine(dir, sub);
        throw new FileNotFoundException($"{dir} is not {what} (no {marker} in it, nor in best/ or last/)");
    }

    /// <summary>Loads an optimizer's saved state into <paramref name="optimizer"/>; a missing or unreadable file is named.</summary>
    public static void LoadOptimizerState(TorchSharp.Modules.OptimizerHelper optimizer, string path, string checkpointDir)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{checkpointDir} has no optimizer state", path);
        try { optimizer.load_state_dict(path); }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{path}: cannot read the optimizer state ({e.Message}); is the file truncated?", e);
        }
    }

    internal static string EncodeRng() => Convert.ToBase64String(random.get_rng_state().data<byte>().ToArray());

    internal static void RestoreRng(string base64)
    {
        if (string.IsNullOrEmpty(base64)) return;
        var bytes = Convert.FromBase64String(base64);
        random.set_rng_state(tensor(bytes, ScalarType.Byte));
    }
}
