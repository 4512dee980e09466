namespace Transformers.Translation;

/// <summary>Raised for <c>--model builtin</c> when this build ships no built-in translator; the message says how to make one.</summary>
public sealed class BuiltInTranslatorMissingException(string message) : FileNotFoundException(message);

/// <summary>
/// The trained French->English translator that ships with the repository, so that <c>translate --model builtin</c> works
/// on a fresh clone. It is an exported model directory (<see cref="Training.ModelExport"/>: <c>model.json</c>, float16
/// <c>model.safetensors</c>, <c>vocab.txt</c>, <c>spacing.tsv</c>, <c>provenance.json</c>) committed as
/// <c>src/Transformers/BuiltIn/fr-en/</c> and copied by the build to <c>models/fr-en/</c> in the output folder of every
/// project that references the library (the CLI, the lab, the tests, and published builds), the way the MiniLM model
/// goes to <c>models/</c>. Files rather than an embedded resource: the library assembly stays small for programs that
/// never translate, the model loads straight from disk, and swapping in a newly trained model is a directory copy.
/// <c>Checkpoint.Load("builtin")</c> resolves here, so every command shares one loading path.
/// </summary>
public static class BuiltInTranslator
{
    /// <summary>The name that stands for the built-in translator wherever a model directory is expected.</summary>
    public const string Name = "builtin";

    /// <summary>Where the build puts it, relative to the program's folder.</summary>
    public static readonly string RelativePath = Path.Combine("models", "fr-en");

    /// <summary>Where it is committed in the repository (the build copies it from there).</summary>
    public const string SourceFolder = "src/Transformers/BuiltIn/fr-en";

    /// <summary>The commands that make a built-in: train a Small Transformer on the bundled corpus, then pack the run.</summary>
    public const string Recipe =
        "transformers train --arch transformer --preset small --data bundled --out runs/fr-en --minutes 130 --eval-minutes 10 --patience 0 --dropout 0.1 --average 4";

    public const string PackCommand = "transformers export-model --model runs/fr-en --out " + SourceFolder;

    /// <summary>Whether <paramref name="model"/> (a <c>--model</c> value) names the built-in translator.</summary>
    public static bool IsBuiltIn(string model) => string.Equals(model, Name, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The built-in translator's directory under <paramref name="programDirectory"/> (by default the program's folder,
    /// then the library assembly's), or null when this build has none.
    /// </summary>
    public static string? Find(string? programDirectory = null)
    {
        var roots = programDirectory is not null
            ? [programDirectory]
            : new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(BuiltInTranslator).Assembly.Location) ?? "" };
        foreach (var root in roots.Where(r => r.Length > 0))
        {
            var dir = Path.Combine(root, RelativePath);
            if (File.Exists(Path.Combine(dir, "model.json"))) return dir;
        }
        return null;
    }

    /// <summary>Like <see cref="Find"/>, but a missing built-in is a <see cref="BuiltInTranslatorMissingException"/> saying how to make one.</summary>
    public static string Directory(string? programDirectory = null) =>
        Find(programDirectory) ?? throw new BuiltInTranslatorMissingException(
            $"this build has no built-in translator ({RelativePath} is not beside the program): train one with `{Recipe}`, " +
            $"pack it with `{PackCommand}`, then rebuild");
}
