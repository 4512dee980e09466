using System.CommandLine;
using TorchSharp;
using System.Diagnostics;
using Transformers.Bert;
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
        var model = new Option<string>("--model") { Description = "minilm (the built-in all-MiniLM-L6-v2), builtin (the built-in French->English translator) or a translator checkpoint runs/NAME.", Required = true }
            .ExistingModel("minilm", BuiltInTranslator.Name);
        var text = new Option<string>("--text") { Description = "The sentence to inspect (for translators: the French source).", Required = true };
        var target = new Option<string?>("--target") { Description = "Translators: the English target (default: the model's greedy translation)." };
        var output = new Option<string>("--out") { Description = "Directory for heads.html, heads.json and png/.", Required = true }.OutputDirectory();
        var noPng = new Option<bool>("--no-png") { Description = "Skip the PNG heatmaps." };
        var noImportance = new Option<bool>("--no-importance") { Description = "Skip head importance (one extra forward pass per head)." };
        var runtime = new ModelRuntime();
        var cmd = new Command("heads", "Inspect attention heads: an HTML viewer, per-head statistics, importance, JSON and PNG heatmaps.")
        {
            model, text, target, output, noPng, noImportance,
        };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            string name = parse.GetValue(model)!, input = parse.GetValue(text) ?? "", dir = parse.GetValue(output)!;
            if (string.IsNullOrWhiteSpace(input)) throw new ArgumentException("--text is empty: give a sentence to inspect");
            var device = runtime.Start(parse);
            var watch = Stopwatch.StartNew();
            var (record, importance) = name.Equals("minilm", StringComparison.OrdinalIgnoreCase)
                ? MiniLmReport(input, !parse.GetValue(noImportance), device)
                : TranslatorReport(name, input, parse.GetValue(target), !parse.GetValue(noImportance), device);
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
        bert.to(device);
        var input = AttentionCapture.PrepareBertText(text, MiniLm.CreateIdEncoder(), MiniLm.VocabularyLines(), bert.Config.MaxPositionEmbeddings);
        var record = AttentionCapture.FromBert(bert, input, "all-MiniLM-L6-v2");
        if (!importance) return (record, []);
        using var scope = NewDisposeScope();
        var ids = tensor(input.Ids, device: device).unsqueeze(0);                   // [1, seq], where the model is
        return (record, [HeadImportance.ForSentenceEmbedding(bert, ids, ones_like(ids))]);
    }

    private static (AttentionRecord, IReadOnlyList<ImportanceMatrix>) TranslatorReport(string run, string text, string? targetText, bool importance, Device device)
    {
        var loaded = Checkpoint.Load(run);
        using var model = loaded.Model;
        model.to(device);
        var vocab = loaded.Vocabulary;
        var special = model.Special;
        var tokenizer = loaded.Tokenizer();
        var options = new Tokenizer.Processing.BertEncodeOptions { AddSpecialTokens = false };
        int[] Encode(string s) => tokenizer.Encode(s, null, options).Ids;
        var source = AttentionCapture.PrepareText(text, Encode, vocab, model.MaxLength - 1, "source");
        InspectionInput target;
        if (targetText is not null) target = AttentionCapture.PrepareText(targetText, Encode, vocab, model.MaxLength - 1, "target");
        else
        {
            using var scope = NewDisposeScope();
            var src = tensor(source.Ids.Append(special.Eos).ToArray(), device: model.parameters().First().device).unsqueeze(0);   // [1, src], where the model is
            var best = Decoder.Translate(model, src, ones_like(src, ScalarType.Bool), new DecodingOptions())[0][0].Tokens;
            var ids = best.Take(model.MaxLength - 1).Select(i => (long)i).ToArray();
            target = new InspectionInput(ids, ids.Select(i => vocab[(int)i]).ToArray(), ["No --target given: the target is the model's greedy translation."]);
        }
        var record = AttentionCapture.FromTranslator(model, vocab, source, target, $"{run} ({model.ArchitectureName})");
        if (!importance || model is not TransformerTranslator transformer || target.Ids.Length == 0) return (record, []);
        using var s2 = NewDisposeScope();
        var batch = new TranslationBatch([source.Ids.Select(i => (int)i).ToArray()], [target.Ids.Select(i => (int)i).ToArray()]).ToTensors(special, model.parameters().First().device);
        return (record, HeadImportance.ForTranslator(transformer, batch.Source, batch.SourceMask, batch.TargetIn, batch.TargetOut));
    }
}
