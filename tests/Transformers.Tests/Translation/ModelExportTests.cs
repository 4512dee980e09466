using Transformers.Data;
using Transformers.Recurrent;
using Transformers.Tokenizer;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>
/// `export-model` and the built-in translator: float16 weights that are exactly the float16 rounding of the run's,
/// translations identical to the rounded original's, a directory that carries everything (spacing included), half the bytes.
/// Serial: the tiny models are initialised from libtorch's global generator, which tests running in parallel also draw
/// from (one assertion needs the seeded model's greedy output to be non-empty).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ModelExportTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "export-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    private static readonly string[] Inputs = ["Ouvrir le fichier", "Fermer la fenêtre", "Enregistrer le document sous", "Imprimer"];

    /// <summary>Targets with punctuation, so that the spacing model has glued pairs to learn ("file." and "Error:").</summary>
    private static readonly string[] SpacingTargets =
    [
        "Open the file.", "Close the window.", "Error: file not found.", "Error: no window.", "Save the document.", "Print: page 1.",
    ];

    private sealed record Run(string Directory, WordPieceTokenizer Tokenizer, SpacingModel Spacing);

    /// <summary>A run directory as `train` leaves it: best/ (weights, vocabulary, trainer state) and spacing.tsv at its root.</summary>
    private Run SaveRun(Seq2SeqModel model, WordPieceTokenizer tokenizer, string name, TrainerState? state = null)
    {
        var dir = Path.Combine(root, "runs", name);
        Checkpoint.Save(Path.Combine(dir, "best"), model, tokenizer.Vocabulary.Tokens, state: state, tokenizer: tokenizer.Options);
        var spacing = SpacingModel.Learn(SpacingTargets, tokenizer);
        spacing.Save(Path.Combine(dir, SpacingModel.FileName));
        return new Run(dir, tokenizer, spacing);
    }

    private static WordPieceTokenizer Tokenizer()
    {
        var split = PipelineTests.TinyCorpus();
        var pairs = split.Train.Concat(SpacingTargets.Select((t, i) => new Transformers.Data.SentencePair("Erreur : " + i, t, "spacing", i + 1))).ToList();
        return TranslationData.TrainTokenizer(pairs, 200);
    }

    /// <summary>A tiny translator of <paramref name="architecture"/>, randomly initialised from a fixed seed.</summary>
    private static Seq2SeqModel Build(string architecture, WordPieceTokenizer tokenizer)
    {
        var s = TranslationData.SpecialsOf(tokenizer);
        int vocab = tokenizer.Vocabulary.Count;
        manual_seed(42);
        return architecture switch
        {
            "transformer" => new TransformerTranslator(TransformerConfig.Tiny(vocab) with { Special = s, MaxLength = 24 }),
            _ => new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(vocab, RecurrentCellKind.Gru, RecurrentAttention.Bahdanau) with { Special = s }),
        };
    }

    /// <summary>Greedy token ids of <see cref="Inputs"/>, sentence by sentence.</summary>
    private static List<int[]> Greedy(Seq2SeqModel model, WordPieceTokenizer tokenizer)
    {
        var options = new Transformers.Tokenizer.Processing.BertEncodeOptions { AddSpecialTokens = false };
        var ids = Inputs.Select(text => tokenizer.Encode(text, null, options).Ids).ToList();
        using var scope = NewDisposeScope();
        var batch = new TranslationBatch(ids, ids.Select(_ => Array.Empty<int>()).ToList()).ToTensors(model.Special);
        return Decoder.Translate(model, batch.Source, batch.SourceMask, new DecodingOptions { MaxLengthOffset = 6 }).Select(h => h[0].Tokens.ToArray()).ToList();
    }

    private static string[] Texts(Checkpoint.Loaded loaded) =>
        new TextTranslator(loaded.Model, loaded.Tokenizer()) { Spacing = loaded.Spacing() }.Translate(Inputs, new DecodingOptions { MaxLengthOffset = 6 });

    private static void RoundToFloat16(Seq2SeqModel model)
    {
        using var _ = no_grad();
        foreach (var p in model.parameters()) p.copy_(p.to(ScalarType.Float16).to(ScalarType.Float32));
    }

    [Theory]
    [InlineData("transformer")]
    [InlineData("gru")]
    public void Float16Export_IsTheFloat16RoundingOfEveryWeight_AndTranslatesLikeTheRoundedOriginal(string architecture)
    {
        var tokenizer = Tokenizer();
        using var original = Build(architecture, tokenizer);
        original.eval();
        var run = SaveRun(original, tokenizer, architecture);

        var exported = ModelExport.Export(run.Directory, Path.Combine(root, "exported"));
        var loaded = Checkpoint.Load(exported.Directory);
        using var model = loaded.Model;

        var parameters = original.named_parameters().Select(p => p.name).ToHashSet();
        var theirs = model.state_dict();
        foreach (var (name, t) in original.state_dict())
        {
            Assert.Equal(ScalarType.Float32, theirs[name].dtype);
            using var expected = parameters.Contains(name) ? t.to(ScalarType.Float16).to(ScalarType.Float32) : t.clone();
            Assert.True(theirs[name].equal(expected).all().item<bool>(), $"{name} is not the float16 rounding of the original");
        }
        RoundToFloat16(original);
        Assert.Equal(Greedy(original, tokenizer), Greedy(model, tokenizer));
        var rounded = new Checkpoint.Loaded(original, tokenizer.Vocabulary.Tokens.ToArray(), tokenizer.Options, null, Path.Combine(run.Directory, "best"));
        Assert.Equal(Texts(rounded), Texts(loaded));
    }

    [Fact]
    public void Float16_ChangesTheWeights_AndTakesAboutHalfTheBytesOfFloat32()
    {
        var tokenizer = Tokenizer();
        using var original = Build("transformer", tokenizer);
        var run = SaveRun(original, tokenizer, "sizes");
        var half = ModelExport.Export(run.Directory, Path.Combine(root, "f16"));
        var full = ModelExport.Export(run.Directory, Path.Combine(root, "f32"), precision: WeightPrecision.Float32);

        long halfBytes = new FileInfo(Path.Combine(half.Directory, "model.safetensors")).Length;
        long fullBytes = new FileInfo(Path.Combine(full.Directory, "model.safetensors")).Length;
        double ratio = (double)halfBytes / fullBytes;
        Assert.InRange(ratio, 0.45, 0.60);                      // the float32 sinusoid buffer and the header keep it above 0.5

        using var exact = Checkpoint.Load(full.Directory).Model;
        using var rounded = Checkpoint.Load(half.Directory).Model;
        var e = exact.state_dict();
        var r = rounded.state_dict();
        int changed = 0;
        foreach (var (name, t) in original.state_dict())
        {
            Assert.True(e[name].equal(t).all().item<bool>(), $"{name}: a float32 export is exact");
            if (!r[name].equal(t).all().item<bool>()) changed++;
        }
        Assert.True(changed > 0, "float16 rounding changed no weight");
        Assert.Equal(WeightPrecision.Float16, half.Provenance.Weights);
        Assert.Equal(WeightPrecision.Float32, full.Provenance.Weights);
    }

    [Fact]
    public void ExportedDirectory_IsSelfContained_AndTranslatesWithItsSpacingAfterACopy()
    {
        var tokenizer = Tokenizer();
        using (var original = Build("transformer", tokenizer))
        {
            var run = SaveRun(original, tokenizer, "self-contained");
            ModelExport.Export(run.Directory, Path.Combine(root, "exported"));
            Directory.Delete(run.Directory, recursive: true);                                      // nothing may point back into the run
        }
        var elsewhere = Path.Combine(root, "copied", "fr-en");
        Directory.CreateDirectory(elsewhere);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "exported")))
            File.Copy(file, Path.Combine(elsewhere, Path.GetFileName(file)));
        Assert.Equal(["manifest.json", "model.json", "model.safetensors", "provenance.json", "spacing.tsv", "tokenizer_config.json", "vocab.txt"],
                     Directory.GetFiles(elsewhere).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var copy = Checkpoint.Load(elsewhere);
        using var model = copy.Model;
        var spacing = copy.Spacing();
        Assert.NotNull(spacing);
        Assert.Equal(SpacingModel.Learn(SpacingTargets, tokenizer).Pruned().Count, spacing!.Count);
        var ids = tokenizer.Encode("Error: file not found.", null, new() { AddSpecialTokens = false }).Ids;
        Assert.Equal("Error: file not found.", spacing.Decode(ids, copy.Tokenizer()));          // the plain decoder writes "Error : file not found ."

        var exported = Checkpoint.Load(Path.Combine(root, "exported"));
        using var _ = exported.Model;
        Assert.Equal(Texts(exported), Texts(copy));
        Assert.Contains(Texts(copy), t => t.Length > 0);
    }

    [Fact]
    public void Checkpoint_KeepsItsTokenizerOptions_AndLoadTokenizerReadsThemWithoutTheWeights()
    {
        var tokenizer = Tokenizer();
        using var original = Build("gru", tokenizer);
        var uncased = WordPieceTokenizer.Create(tokenizer.Vocabulary, WordPieceOptions.Uncased);   // same ids, another normalizer
        var run = SaveRun(original, uncased, "uncased");
        var best = Path.Combine(run.Directory, "best");
        Assert.Equal(WordPieceOptions.Uncased, TokenizerConfig.Read(Path.Combine(best, TokenizerConfig.FileName)));

        var loaded = Checkpoint.Load(run.Directory);
        using (loaded.Model)
        {
            Assert.Equal(WordPieceOptions.Uncased, loaded.TokenizerOptions);
            Assert.Equal(WordPieceOptions.Uncased, loaded.Tokenizer().Options);
        }
        File.Delete(Path.Combine(best, "model.safetensors"));                                      // the tokenizer alone needs no weights
        var alone = Checkpoint.LoadTokenizer(run.Directory);
        Assert.Equal(WordPieceOptions.Uncased, alone.Options);
        Assert.Equal(uncased.Encode("Ouvrir le Fichier").Ids, alone.Encode("Ouvrir le Fichier").Ids);
        Assert.Contains("model.safetensors", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(run.Directory)).Message);

        File.WriteAllText(Path.Combine(best, TokenizerConfig.FileName), "{\"do_lower_case\": 1}");          // damaged: the manifest names it
        Assert.Contains(TokenizerConfig.FileName, Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTokenizer(run.Directory)).Message);
    }

    [Fact]
    public void CheckpointWithoutTokenizerConfig_HasTheTranslatorsCasedTokenizer()
    {
        var tokenizer = Tokenizer();
        using var original = Build("gru", tokenizer);
        var dir = Path.Combine(root, "legacy");
        Checkpoint.Save(dir, original, tokenizer.Vocabulary.Tokens);                            // as written before 2026-12-06
        Assert.False(File.Exists(Path.Combine(dir, TokenizerConfig.FileName)));
        Assert.Equal(TranslationData.TokenizerOptions, Checkpoint.LoadTokenizer(dir).Options);
        Assert.Equal(WordPieceOptions.Cased, TranslationData.TokenizerOptions);
    }

    [Fact]
    public void Provenance_KeepsThePackersFields_AndTheTrainingState()
    {
        var tokenizer = Tokenizer();
        using var original = Build("gru", tokenizer);
        var state = new TrainerState
        {
            Step = 120, TargetTokens = 45_000, ElapsedSeconds = 61.5,
            History = [new EvalRecord(60, 0, 30, 20_000, 4.1, 60.3, 3.5), new EvalRecord(120, 1, 61.5, 45_000, 3.2, 24.5, 7.25)],
        };
        var run = SaveRun(original, tokenizer, "provenance", state);
        var given = new ModelProvenance { Recipe = "transformers train --arch gru", Data = "bundled", Commit = "abc1234", TestBleu = 13.1 };
        var exported = ModelExport.Export(run.Directory, Path.Combine(root, "exported"), checkpoint: "best", provenance: given);

        var p = ModelExport.ReadProvenance(exported.Directory)!;
        Assert.Equal(("transformers train --arch gru", "bundled", "abc1234", 13.1), (p.Recipe, p.Data, p.Commit, p.TestBleu));
        Assert.Equal(("gru", WeightPrecision.Float16), (p.Architecture, p.Weights));
        Assert.Equal(original.parameters().Sum(t => t.numel()), p.Parameters);
        Assert.Equal((120L, 45_000L, 61.5, 7.25), (p.Steps, p.TargetTokens, p.TrainingSeconds, p.BestDevBleu));
        Assert.Equal(state.History, p.Evaluations);
        Assert.Equal(Path.Combine(run.Directory, "best"), p.ExportedFrom);
        Assert.InRange(DateTimeOffset.UtcNow - p.ExportedUtc, TimeSpan.Zero, TimeSpan.FromMinutes(5));
        Assert.Equal(exported.Provenance with { Evaluations = p.Evaluations }, p);                 // what Export returns is what it wrote
    }

    [Fact]
    public void Export_RefusesWhatItWouldDestroy_AndNamesTheCheckpointsARunHas()
    {
        var tokenizer = Tokenizer();
        using var original = Build("transformer", tokenizer);
        var run = SaveRun(original, tokenizer, "refusals");
        Checkpoint.Save(Path.Combine(run.Directory, "last"), original, tokenizer.Vocabulary.Tokens);

        var missing = Assert.Throws<FileNotFoundException>(() => ModelExport.Export(run.Directory, Path.Combine(root, "out"), checkpoint: "averaged"));
        Assert.Contains("has no averaged/ checkpoint (it has: best, last)", missing.Message);
        // The run itself, its checkpoint, or any folder that is not a model would be replaced whole.
        Assert.Contains("would replace the checkpoint", Assert.Throws<ArgumentException>(() => ModelExport.Export(run.Directory, run.Directory)).Message);
        Assert.Contains("would replace the checkpoint", Assert.Throws<ArgumentException>(() => ModelExport.Export(run.Directory, Path.Combine(run.Directory, "best"))).Message);
        var notes = Path.Combine(root, "notes");
        Directory.CreateDirectory(notes);
        File.WriteAllText(Path.Combine(notes, "todo.txt"), "keep me");
        Assert.Contains("is not a model directory", Assert.Throws<ArgumentException>(() => ModelExport.Export(run.Directory, notes)).Message);
        Assert.True(File.Exists(Path.Combine(notes, "todo.txt")));
        // Without the run's spacing.tsv the model could not detokenize as trained.
        File.Delete(Path.Combine(run.Directory, SpacingModel.FileName));
        Assert.Contains("has no spacing.tsv", Assert.Throws<FileNotFoundException>(() => ModelExport.Export(run.Directory, Path.Combine(root, "out"))).Message);
        // A previous export is replaced (atomically), and last/ can be chosen.
        SpacingModel.Learn(SpacingTargets, tokenizer).Save(Path.Combine(run.Directory, SpacingModel.FileName));
        ModelExport.Export(run.Directory, Path.Combine(root, "out"));
        var again = ModelExport.Export(run.Directory, Path.Combine(root, "out"), checkpoint: "last");
        Assert.EndsWith("last", again.Source);
        Assert.DoesNotContain(Directory.GetDirectories(root), d => Path.GetFileName(d).StartsWith('.') || d.EndsWith(".old"));
    }

    [Fact]
    public void MissingBuiltIn_IsOneLine_SayingHowToTrainAndPackOne()
    {
        var program = Path.Combine(root, "program");
        Directory.CreateDirectory(program);
        Assert.Null(BuiltInTranslator.Find(program));
        var e = Assert.Throws<BuiltInTranslatorMissingException>(() => BuiltInTranslator.Directory(program));
        Assert.IsAssignableFrom<FileNotFoundException>(e);                                         // the CLI prints it as one line, exit code 1
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith("this build has no built-in translator", e.Message);
        Assert.Contains(BuiltInTranslator.Recipe, e.Message);
        Assert.Contains("transformers export-model --model runs/fr-en --out src/Transformers/BuiltIn/fr-en", e.Message);
    }

    [Fact]
    public void BuiltIn_IsFoundBesideTheProgram_AndLoadsThroughTheCheckpointLoader()
    {
        var tokenizer = Tokenizer();
        using (var original = Build("transformer", tokenizer))
        {
            var run = SaveRun(original, tokenizer, "builtin");
            ModelExport.Export(run.Directory, Path.Combine(root, "program", "models", "fr-en"));
        }
        var dir = BuiltInTranslator.Find(Path.Combine(root, "program"));
        Assert.Equal(Path.Combine(root, "program", "models", "fr-en"), dir);
        Assert.True(BuiltInTranslator.IsBuiltIn("builtin") && BuiltInTranslator.IsBuiltIn("BuiltIn") && !BuiltInTranslator.IsBuiltIn("./builtin"));
        var loaded = Checkpoint.Load(dir!);
        using var _ = loaded.Model;
        Assert.NotNull(loaded.Spacing());
    }

    /// <summary>
    /// Holds with or without a built-in in this build: today none ships, so "builtin" is the one-line error; once a trained
    /// model is packed into src/Transformers/BuiltIn/fr-en, this checks the shipped model itself (size, files, a translation).
    /// </summary>
    [Fact]
    public void Builtin_EitherLoadsAndTranslates_OrSaysHowToMakeOne()
    {
        if (BuiltInTranslator.Find() is not { } dir)
        {
            Assert.Throws<BuiltInTranslatorMissingException>(() => Checkpoint.Load("builtin"));
            return;
        }
        long bytes = new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length);
        Assert.True(bytes <= 40L << 20, $"the built-in translator takes {bytes / 1048576.0:F1} MB; the budget in git is 40 MB");
        Assert.NotNull(ModelExport.ReadProvenance("builtin"));
        var loaded = Checkpoint.Load("builtin");
        using var model = loaded.Model;
        Assert.NotNull(loaded.Spacing());
        var text = new TextTranslator(model, loaded.Tokenizer()) { Spacing = loaded.Spacing() }.Translate(["Ouvrir le fichier"], new DecodingOptions());
        Assert.False(string.IsNullOrWhiteSpace(text[0]));
    }
}
