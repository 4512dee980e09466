using System.CommandLine;
using TorchSharp;
using System.Diagnostics;
using Transformers.Bert;
using Transformers.Bert.Pretraining;
using Transformers.Data;
using Transformers.Inspection;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Cli.Commands;

/// <summary>`transformers heads`: capture every attention head of a model on a text and write the HTML viewer, JSON and PNG heatmaps.</summary>
public static class HeadsCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "minilm (the built-in all-MiniLM-L6-v2), builtin (the built-in French->English translator), a translator checkpoint runs/NAME, or a BERT pretrained with `pretrain`.", Required = true }
            .ExistingModel("minilm", BuiltInTranslator.Name);
        var text = new Option<string>("--text") { Description = "The sentence to inspect (for translators: the French source).", Required = true };
        var target = new Option<string?>("--target") { Description = "Translators: the English target (default: the model's greedy translation)." };
        var output = new Option<string>("--out") { Description = "Directory for heads.html, heads.json and png/.", Required = true }.OutputDirectory();
        var noPng = new Option<bool>("--no-png") { Description = "Skip the PNG heatmaps." };
        var noImportance = new Option<bool>("--no-importance") { Description = "Skip head importance (one extra forward pass per head)." };
        var beam = new Option<int>("--beam") { Description = "Translators without --target: inspect the model's own translation by beam search of this width (1: greedy).", DefaultValueFactory = _ => 1 }
            .Within(1, TranslateCommand.MaxBeam);
        var compare = new Option<string>("--compare") { Description = "A second translator (run, checkpoint or builtin): both translations and alignments side by side in compare.html, with their agreement." }
            .ExistingModel(BuiltInTranslator.Name);
        var runtime = new ModelRuntime();
        var cmd = new Command("heads", "Inspect attention heads: an HTML viewer, per-head statistics, importance, JSON and PNG heatmaps.")
        {
            model, text, target, output, noPng, noImportance, beam, compare,
        };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            string name = parse.GetValue(model)!, input = parse.GetValue(text) ?? "", dir = parse.GetValue(output)!;
            if (string.IsNullOrWhiteSpace(input)) throw new ArgumentException("--text is empty: give a sentence to inspect");
            var device = runtime.Start(parse);
            var watch = Stopwatch.StartNew();
            if (parse.GetValue(compare) is { } other)
            {
                if (name.Equals("minilm", StringComparison.OrdinalIgnoreCase) || MlmCheckpoint.IsCheckpoint(name) || MlmCheckpoint.IsCheckpoint(other))
                    throw new ArgumentException("--compare: compares two translators (runs, checkpoints or builtin), not BERT models");
                if (parse.GetValue(target) is not null) throw new ArgumentException("--compare runs both models on the first one's translation: leave out --target");
                Compare(name, other, input, parse.GetValue(beam), dir, !parse.GetValue(noPng), device);
                Console.WriteLine($"done in {watch.Elapsed.TotalSeconds:0.0} s");
                return 0;
            }
            var (record, importance) = name.Equals("minilm", StringComparison.OrdinalIgnoreCase)
                ? MiniLmReport(input, !parse.GetValue(noImportance), device)
                : MlmCheckpoint.IsCheckpoint(name) ? PretrainedReport(name, input, !parse.GetValue(noImportance), device)
                : TranslatorReport(name, input, parse.GetValue(target), !parse.GetValue(noImportance), parse.GetValue(beam), device);
            foreach (var note in record.Notes) Console.Error.WriteLine($"note: {note}");
            var files = HeadsReport.Write(dir, record, importance, parse.GetValue(noPng) ? null : new PngOptions());
            Console.WriteLine(files.Html);
            Console.WriteLine(files.Json);
            if (files.Pngs.Count > 0) Console.WriteLine($"{files.Pngs.Count} PNG files in {Path.Combine(dir, HeadsReport.PngFolder)}");
            Console.WriteLine($"done in {watch.Elapsed.TotalSeconds:0.0} s");
            return 0;
        });
        return cmd;
    }

    private static (AttentionRecord, IReadOnlyList<ImportanceMatrix>) MiniLmReport(string text, bool importance, Device device)
    {
        using var bert = BertWeights.LoadMiniLm();
        return BertReport(bert, MiniLm.CreateIdEncoder(), MiniLm.VocabularyLines(), "all-MiniLM-L6-v2", text, importance, device);
    }

    /// <summary>A BERT pretrained with `pretrain` (or any HF BertForMaskedLM directory): its self-attention on the text, as MiniLM's.</summary>
    private static (AttentionRecord, IReadOnlyList<ImportanceMatrix>) PretrainedReport(string dir, string text, bool importance, Device device)
    {
        var loaded = MlmCheckpoint.Load(dir);
        using var mlm = loaded.Model;
        var tokenizer = loaded.Tokenizer;
        return BertReport(mlm.Bert, t => tokenizer.Encode(t).Ids, tokenizer.Vocabulary.Tokens,
                          $"{dir} (BERT, {mlm.Config.NumHiddenLayers} layers x {mlm.Config.NumAttentionHeads} heads)", text, importance, device);
    }

    /// <summary>A BERT encoder's self-attention on one text ([CLS] text [SEP]), with sentence-embedding head importance.</summary>
    private static (AttentionRecord, IReadOnlyList<ImportanceMatrix>) BertReport(BertModel bert, Func<string, int[]> encodeWithSpecialTokens, IReadOnlyList<string> vocabulary,
                                                                                string name, string text, bool importance, Device device)
    {
        bert.to(device);
        var input = AttentionCapture.PrepareBertText(text, encodeWithSpecialTokens, vocabulary, bert.Config.MaxPositionEmbeddings);
        var record = AttentionCapture.FromBert(bert, input, name);
        if (!importance) return (record, []);
        using var scope = NewDisposeScope();
        var ids = tensor(input.Ids, device: device).unsqueeze(0);                   // [1, seq], where the model is
        return (record, [HeadImportance.ForSentenceEmbedding(bert, ids, ones_like(ids))]);
    }

    private static (AttentionRecord, IReadOnlyList<ImportanceMatrix>) TranslatorReport(string run, string text, string? targetText, bool importance, int beam, Device device)
    {
        var loaded = Checkpoint.Load(run);
        using var model = loaded.Model;
        model.to(device);
        var inspection = TranslatorInspector.Inspect(model, loaded.Tokenizer(), loaded.Spacing(), text, targetText, beam, $"{run} ({model.ArchitectureName})");
        Console.Error.WriteLine($"target: {inspection.Target}");
        return (inspection.Record, importance ? TranslatorInspector.Importance(model, inspection) : []);
    }

    /// <summary>
    /// `--compare B`: both models' viewers (a/, b/) and compare.html. B is inspected on A's translation (teacher-forced),
    /// so the two alignments cover the same target tokens; both own translations are shown.
    /// </summary>
    private static void Compare(string runA, string runB, string text, int beam, string dir, bool png, Device device)
    {
        var loadedA = Checkpoint.Load(runA);
        var loadedB = Checkpoint.Load(runB);
        using var modelA = loadedA.Model;
        using var modelB = loadedB.Model;
        modelA.to(device);
        modelB.to(device);
        var (tokenizerA, tokenizerB) = (loadedA.Tokenizer(), loadedB.Tokenizer());
        var (spacingA, spacingB) = (loadedA.Spacing(), loadedB.Spacing());
        var c = TranslatorInspector.Compare(text, loadedA.Vocabulary.SequenceEqual(loadedB.Vocabulary),
            ids => TranslatorInspector.Inspect(modelA, tokenizerA, spacingA, text, beam: beam, modelName: $"{runA} ({modelA.ArchitectureName})", targetIds: ids),
            ids => TranslatorInspector.Inspect(modelB, tokenizerB, spacingB, text, beam: beam, modelName: $"{runB} ({modelB.ArchitectureName})", targetIds: ids));
        Directory.CreateDirectory(dir);
        var options = png ? new PngOptions() : null;
        var filesA = HeadsReport.Write(Path.Combine(dir, "a"), c.A.Inspection.Record, [], options);
        var filesB = HeadsReport.Write(Path.Combine(dir, "b"), c.B.Inspection.Record, [], options);
        var page = Path.Combine(dir, CompareReport.FileName);
        CompareReport.Write(page, c);
        Console.WriteLine(page);
        Console.WriteLine(filesA.Html);
        Console.WriteLine(filesB.Html);
        Console.WriteLine($"A: {c.A.Translation}");
        Console.WriteLine($"B: {c.B.Translation}");
        Console.WriteLine(c.Agreement is { } x ? $"agreement {x:P1} (most-attended source token, per target token of A's translation)" : "no agreement figure: the models' vocabularies differ");
    }
}
