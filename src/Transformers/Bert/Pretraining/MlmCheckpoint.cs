using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using Transformers.Tokenizer;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Bert.Pretraining;

/// <summary>Where a pretraining run stands: enough to continue exactly after a restart.</summary>
public sealed record MlmTrainerState : TrainingPosition
{
    /// <summary>Tokens trained on so far (padding excluded).</summary>
    public long Tokens { get; set; }
    public List<MlmEvaluation> History { get; set; } = [];
}

/// <summary>
/// One evaluation on the held-out sentences: masked-token loss and accuracy (top-1 over the predicted positions), and the
/// process's resident memory now and at its peak so far (the peak includes the vocabulary training of a fresh run).
/// </summary>
public sealed record MlmEvaluation(long Step, double ElapsedSeconds, long Tokens, double Loss, double Accuracy, int Predictions, long PeakRssBytes = 0, long RssBytes = 0);

/// <summary>
/// A BERT masked-language-model checkpoint in HF's directory layout, which <c>BertForMaskedLM.from_pretrained</c>,
/// <see cref="BertWeights.LoadHfDirectory"/> and the viewer read: <c>config.json</c>, <c>model.safetensors</c> under HF's
/// names (<c>bert.*</c>, and the head as <c>cls.predictions.transform.dense</c>, <c>.transform.LayerNorm</c>,
/// <c>cls.predictions.bias</c>; the decoder is tied to the word embeddings, so it is not stored), <c>vocab.txt</c>,
/// <c>tokenizer_config.json</c>; to resume, <c>optimizer.bin</c> and <c>trainer_state.json</c>; <c>manifest.json</c>
/// last. Written aside and renamed into place (<see cref="AtomicDirectory"/>).
/// </summary>
public static class MlmCheckpoint
{
    private const string ConfigFile = "config.json", WeightsFile = "model.safetensors", VocabFile = "vocab.txt",
                         OptimizerFile = "optimizer.bin";

    /// <summary>Our parameter name -> HF's BertForMaskedLM name.</summary>
    public static string ToHfName(string ours) => ours switch
    {
        _ when ours.StartsWith("bert.", StringComparison.Ordinal) => "bert." + BertWeights.ToHfName(ours[5..]),
        _ when ours.StartsWith("transform_norm.", StringComparison.Ordinal) => "cls.predictions.transform.LayerNorm." + ours["transform_norm.".Length..],
        _ when ours.StartsWith("transform.", StringComparison.Ordinal) => "cls.predictions.transform.dense." + ours["transform.".Length..],
        "decoder_bias" => "cls.predictions.bias",
        _ => ours,
    };

    public static void Save(string dir, BertForMaskedLM model, WordPieceTokenizer tokenizer, OptimizerHelper? optimizer = null, MlmTrainerState? state = null)
    {
        if (tokenizer.Vocabulary.Count != model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.Vocabulary.Count} tokens, the model {model.Config.VocabSize}");
        AtomicDirectory.Write(dir, tmp =>
        {
            WriteHfModel(tmp, model, model.Config, ToHfName, tokenizer);
            optimizer?.save_state_dict(Path.Combine(tmp, OptimizerFile));
            state?.WriteTo(tmp);
            CheckpointManifest.Write(tmp);
        });
    }

    /// <summary>
    /// What every BERT directory of ours holds, in HF's layout: config.json, model.safetensors (the module's state under
    /// <paramref name="toHfName"/>), vocab.txt and tokenizer_config.json. Also the classifier's (<c>ClassifierTraining.Save</c>).
    /// </summary>
    internal static void WriteHfModel(string dir, nn.Module model, BertConfig config, Func<string, string> toHfName, WordPieceTokenizer tokenizer)
    {
        File.WriteAllText(Path.Combine(dir, ConfigFile), (config with { ModelType = "bert" }).ToJson(), new UTF8Encoding(false));
        using (var scope = NewDisposeScope())
            Safetensors.SaveStateDict(Path.Combine(dir, WeightsFile), model.state_dict().ToDictionary(kv => toHfName(kv.Key), kv => kv.Value.detach().cpu().contiguous()));
        tokenizer.Save(dir);
    }

    /// <summary>model.safetensors of a BERT directory; an error names it when it is missing or unreadable (truncated).</summary>
    internal static (string Path, Dictionary<string, Tensor> Weights) ReadWeights(string dir)
    {
        var weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath)) throw new FileNotFoundException($"{dir} has no {WeightsFile}", weightsPath);
        try { return (weightsPath, Safetensors.LoadStateDict(weightsPath)); }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{weightsPath}: cannot read the weights ({e.GetType().Name}: {e.Message}); is the file truncated?", e);
        }
    }

    /// <summary>A loaded masked-language model (eval mode), its tokenizer, and where pretraining stood (null if not saved).</summary>
    public sealed record Loaded(BertForMaskedLM Model, WordPieceTokenizer Tokenizer, MlmTrainerState? State, string Directory)
    {
        public string OptimizerPath => Path.Combine(Directory, OptimizerFile);
    }

    /// <summary>
    /// Loads a checkpoint directory (for a run directory, its <c>best</c>, else <c>last</c>). Errors name the file: no
    /// config.json, weights that do not fit it, a directory without a masked-language-model head (MiniLM's has none).
    /// </summary>
    public static Loaded Load(string dir, bool withTrainerState = false)
    {
        dir = Resolve(dir);
        CheckpointManifest.Verify(dir, withTrainerState ? null : [ConfigFile, WeightsFile, VocabFile, TokenizerConfig.FileName]);
        var config = BertConfig.Load(Path.Combine(dir, ConfigFile));
        var (weightsPath, weights) = ReadWeights(dir);
        try
        {
            if (!weights.Keys.Any(k => k.StartsWith("cls.predictions.", StringComparison.Ordinal)))
                throw new InvalidDataException($"{weightsPath} has no masked-language-model head (no cls.predictions.* weights): it is an encoder only, which cannot fill a mask");
            var model = new BertForMaskedLM(config);
            try
            {
                StateDicts.LoadStrict(model, weights, weightsPath, ToHfName,
                    ignore: k => k is "cls.predictions.decoder.weight" or "cls.predictions.decoder.bias" or "bert.embeddings.position_ids",
                    describe: $"BERT masked-language-model config in {Path.Combine(dir, ConfigFile)}");
            }
            catch
            {
                model.Dispose();
                throw;
            }
            model.eval();
            var tokenizer = WordPieceTokenizer.FromDirectory(dir);
            if (tokenizer.Vocabulary.Count != config.VocabSize)
                throw new InvalidDataException($"{Path.Combine(dir, VocabFile)} has {tokenizer.Vocabulary.Count} tokens, but {ConfigFile} says vocab_size {config.VocabSize}");
            return new Loaded(model, tokenizer, withTrainerState ? ReadState(dir) : null, dir);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    private static MlmTrainerState? ReadState(string dir) => TrainingPosition.ReadFrom<MlmTrainerState>(dir);

    /// <summary>A run directory resolves to its best checkpoint, else its last; a checkpoint directory to itself.</summary>
    public static string Resolve(string dir) => Checkpoint.ResolveIn(dir, ConfigFile, "a BERT checkpoint");

    /// <summary>Whether <paramref name="dir"/> holds a BERT checkpoint (config.json, here or in best/ or last/).</summary>
    public static bool IsCheckpoint(string dir)
    {
        try { Resolve(dir); return true; }
        catch (FileNotFoundException) { return false; }
    }
}
