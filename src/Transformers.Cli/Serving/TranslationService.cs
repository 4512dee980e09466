using TorchSharp;
using Transformers.Inspection;
using Transformers.Tokenizer;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Cli.Serving;

/// <summary>A translator the server holds: loaded once, used by one request at a time.</summary>
internal sealed class ServedModel(string name, Seq2SeqModel model, WordPieceTokenizer tokenizer, SpacingModel? spacing, IReadOnlyList<string> vocabulary) : IDisposable
{
    private readonly Lock gate = new();

    public string Name { get; } = name;
    public string Architecture => model.ArchitectureName;
    public IReadOnlyList<string> Vocabulary { get; } = vocabulary;

    public static ServedModel Load(string dir, Device device)
    {
        var loaded = Checkpoint.Load(dir);
        loaded.Model.PrepareForDecoding(device);
        return new ServedModel(dir, loaded.Model, loaded.Tokenizer(), loaded.Spacing(), loaded.Vocabulary);
    }

    public string[] Translate(IReadOnlyList<string> lines, int beam)
    {
        lock (gate)
            return new TextTranslator(model, tokenizer) { Spacing = spacing }.Translate(lines.ToList(), new DecodingOptions { BeamSize = beam });
    }

    public TranslatorInspection Inspect(string text, int beam, IReadOnlyList<long>? targetIds = null)
    {
        lock (gate)
            return TranslatorInspector.Inspect(model, tokenizer, spacing, text, beam: beam, modelName: $"{Name} ({Architecture})", targetIds: targetIds);
    }

    public void Dispose() => model.Dispose();
}

/// <summary>The translators a server was started with (one or two), and what it does with them: translate, inspect, compare.</summary>
internal sealed class TranslationService(IReadOnlyList<ServedModel> models) : IDisposable
{
    public IReadOnlyList<ServedModel> Models { get; } = models.Count is 1 or 2 ? models : throw new ArgumentException($"serve takes one or two models, got {models.Count}");

    /// <summary>The model named <paramref name="name"/> (its directory as given, or its index), the first when null.</summary>
    public ServedModel Model(string? name)
    {
        if (name is null) return Models[0];
        if (int.TryParse(name, out int i) && i >= 0 && i < Models.Count) return Models[i];
        return Models.FirstOrDefault(m => m.Name == name)
               ?? throw new ArgumentException($"no model '{name}': this server has {string.Join(" and ", Models.Select((m, j) => $"{j} ({m.Name})"))}");
    }

    /// <summary>The viewer page of <paramref name="model"/> on its own translation of <paramref name="text"/>.</summary>
    public string ViewerHtml(ServedModel model, string text, int beam)
    {
        var record = model.Inspect(text, beam).Record;
        return HtmlReport.Render(record, HeadStatisticsCalculator.Compute(record), []);
    }

    /// <summary>The two models side by side (<see cref="CompareReport"/>); needs two models.</summary>
    public string CompareHtml(string text, int beam)
    {
        if (Models.Count < 2) throw new ArgumentException("compare needs two models: start the server with --model twice");
        var (a, b) = (Models[0], Models[1]);
        return CompareReport.Render(TranslatorInspector.Compare(text, a.Vocabulary.SequenceEqual(b.Vocabulary),
                                                                ids => a.Inspect(text, beam, ids), ids => b.Inspect(text, beam, ids)));
    }

    public void Dispose()
    {
        foreach (var m in Models) m.Dispose();
    }
}
