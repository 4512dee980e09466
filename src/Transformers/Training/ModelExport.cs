using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Transformers.Translation;

namespace Transformers.Training;

/// <summary>How the parameters are stored on disk; they are always loaded back as float32.</summary>
public enum WeightPrecision
{
    Float32,
    /// <summary>IEEE half precision: half the bytes, each weight rounded to 11 significant bits (as <c>to(Float16)</c>).</summary>
    Float16,
}

/// <summary>
/// Where an exported model comes from (<c>provenance.json</c>). The packer fills <see cref="Recipe"/>, <see cref="Data"/>,
/// <see cref="Commit"/> and <see cref="TestBleu"/>; the export fills the rest from the checkpoint and its trainer state.
/// </summary>
public sealed record ModelProvenance
{
    /// <summary>The command(s) that trained the model.</summary>
    public string? Recipe { get; init; }
    /// <summary>The training data, e.g. "bundled".</summary>
    public string? Data { get; init; }
    /// <summary>The commit of this repository the model was trained with.</summary>
    public string? Commit { get; init; }
    /// <summary>Test BLEU of the exported weights (as <c>evaluate --model DIR --split test</c> prints it).</summary>
    public double? TestBleu { get; init; }

    public string Architecture { get; init; } = "";
    public long Parameters { get; init; }
    public WeightPrecision Weights { get; init; }
    /// <summary>The checkpoint directory exported, as it was given (e.g. runs/fr-en/best).</summary>
    public string ExportedFrom { get; init; } = "";
    public DateTimeOffset ExportedUtc { get; init; }
    /// <summary>Optimizer steps and target tokens behind the weights, and the wall-clock seconds of training (null: unknown).</summary>
    public long? Steps { get; init; }
    public long? TargetTokens { get; init; }
    public double? TrainingSeconds { get; init; }
    /// <summary>The best dev BLEU of the run up to these weights.</summary>
    public double? BestDevBleu { get; init; }
    /// <summary>The run's evaluations up to these weights (dev loss and BLEU curves).</summary>
    public IReadOnlyList<EvalRecord> Evaluations { get; init; } = [];
}

/// <summary>What <see cref="ModelExport.Export"/> wrote.</summary>
/// <param name="Directory">The exported model directory.</param>
/// <param name="Source">The checkpoint directory it was made from.</param>
/// <param name="Bytes">Total size of the files written.</param>
public sealed record ExportedModel(string Directory, string Source, long Bytes, ModelProvenance Provenance);

/// <summary>
/// Packs a training run into a self-contained model directory for inference, like Hugging Face's
/// <c>save_pretrained</c> after fairseq-style stripping: <c>model.json</c> (architecture + config, as
/// <see cref="Checkpoint"/> writes it), <c>model.safetensors</c> (float16 by default: half the size, loaded back as
/// float32), <c>vocab.txt</c>, the run's <c>spacing.tsv</c> (<see cref="SpacingModel.Pruned"/>) and
/// <c>provenance.json</c>; no optimizer or trainer state. <see cref="Checkpoint.Load"/> reads it like any checkpoint.
/// Written atomically (temp directory + rename).
/// </summary>
public static class ModelExport
{
    public const string ProvenanceFile = "provenance.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() }, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// Exports <paramref name="model"/> (a run, a checkpoint directory or <c>builtin</c>) into <paramref name="outDir"/>.
    /// <paramref name="checkpoint"/> picks a sub-directory of a run (best, last, averaged, tokens-N; null: best, else
    /// last). <paramref name="provenance"/> carries the packer's fields (recipe, data, commit, test BLEU).
    /// </summary>
    public static ExportedModel Export(string model, string outDir, string? checkpoint = null,
                                       WeightPrecision precision = WeightPrecision.Float16, ModelProvenance? provenance = null)
    {
        var source = checkpoint is null ? Checkpoint.Resolve(model) : SubCheckpoint(model, checkpoint);
        var spacing = SpacingModel.FindFile(source)
            ?? throw new FileNotFoundException($"{source} has no {SpacingModel.FileName} (nor has its run): the exported model could not restore the spacing of punctuation; " +
                                               "runs trained before the spacing model existed get one from the lab's `translators` command");
        CheckOutput(outDir, source);
        var loaded = Checkpoint.Load(source, withTrainerState: true);
        using var m = loaded.Model;
        var state = loaded.State ?? RunState(source);
        var devBleu = state?.History.Where(e => e.DevBleu.HasValue).Select(e => e.DevBleu!.Value).ToList() ?? [];
        var record = (provenance ?? new ModelProvenance()) with
        {
            Architecture = m.ArchitectureName,
            Parameters = m.parameters().Sum(p => p.numel()),
            Weights = precision,
            ExportedFrom = source,
            ExportedUtc = DateTimeOffset.UtcNow,
            Steps = state?.Step,
            TargetTokens = state?.TargetTokens,
            TrainingSeconds = state?.ElapsedSeconds,
            BestDevBleu = devBleu.Count > 0 ? devBleu.Max() : null,
            Evaluations = state?.History ?? [],
        };
        AtomicDirectory.Write(outDir, tmp =>
        {
            Checkpoint.WriteModel(tmp, m, loaded.Vocabulary, loaded.TokenizerOptions, precision);
            SpacingModel.Load(spacing).Pruned().Save(Path.Combine(tmp, SpacingModel.FileName));
            File.WriteAllText(Path.Combine(tmp, ProvenanceFile), JsonSerializer.Serialize(record, Json), new UTF8Encoding(false));
            CheckpointManifest.Write(tmp);
        });
        long bytes = new DirectoryInfo(outDir).EnumerateFiles().Sum(f => f.Length);
        return new ExportedModel(outDir, source, bytes, record);
    }

    /// <summary>The provenance of an exported model directory (or <c>builtin</c>); null when it has none.</summary>
    public static ModelProvenance? ReadProvenance(string dir)
    {
        var path = Path.Combine(Checkpoint.Resolve(dir), ProvenanceFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ModelProvenance>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a provenance record ({e.Message})", e);
        }
    }

    /// <summary>RUN/NAME, which must be a checkpoint; the error lists the run's checkpoints.</summary>
    private static string SubCheckpoint(string run, string name)
    {
        var dir = Path.Combine(run, name);
        if (File.Exists(Path.Combine(dir, "model.json"))) return dir;
        if (!System.IO.Directory.Exists(run)) throw new DirectoryNotFoundException($"{run} does not exist");
        var have = System.IO.Directory.GetDirectories(run).Where(d => File.Exists(Path.Combine(d, "model.json"))).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        throw new FileNotFoundException($"{run} has no {name}/ checkpoint (it has: {string.Join(", ", have.DefaultIfEmpty("none"))})");
    }

    /// <summary>An averaged/ checkpoint has no trainer state of its own: the average ends where the run's last/ does.</summary>
    private static TrainerState? RunState(string source)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(source));
        if (Path.GetFileName(full) != "averaged") return null;
        return Checkpoint.ReadState(Path.Combine(Path.GetDirectoryName(full)!, "last"));
    }

    /// <summary>The export replaces <paramref name="outDir"/> whole: refuse a directory that is not a model, or the source itself.</summary>
    private static void CheckOutput(string outDir, string source)
    {
        var output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir));
        var from = Path.TrimEndingDirectorySeparator(Path.GetFullPath(source));
        if (string.Equals(output, from, StringComparison.Ordinal) || from.StartsWith(output + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"--out {outDir} would replace the checkpoint it exports ({source}); choose another directory");
        if (System.IO.Directory.Exists(output) && System.IO.Directory.EnumerateFileSystemEntries(output).Any() && !File.Exists(Path.Combine(output, "model.json")))
            throw new ArgumentException($"--out {outDir} exists and is not a model directory; the export replaces its directory whole, so choose a new or model directory");
    }
}
