using System.Text;
using System.Text.Json;

namespace Transformers.Training;

/// <summary>
/// The settings a run was started with, saved as <c>run.json</c> and keyed by the command-line option that sets each:
/// <see cref="Fixed"/> settings shape the model or the data (architecture, size, vocabulary, corpus, batches, seed) and
/// a resume must give the same ones; <see cref="Adjustable"/> settings (budget, schedule, evaluation, patience) may
/// change when a run is resumed, and each change is reported.
/// </summary>
public sealed record RunSettings(IReadOnlyDictionary<string, string> Fixed, IReadOnlyDictionary<string, string> Adjustable)
{
    /// <summary>An enum value as the command line and run.json write it: LuongGeneral -> luong-general.</summary>
    public static string OptionName(Enum value) => System.Text.RegularExpressions.Regex.Replace(value.ToString(), "(?<=[a-z0-9])(?=[A-Z])", "-").ToLowerInvariant();

    /// <summary>A setting's value as run.json keeps it: enums as typed (luong-general), numbers invariant and round-trip, bools lower case; null is "default".</summary>
    public static string Format(object? value) => value switch
    {
        null => "default",
        Enum e => OptionName(e),
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString()!.ToLowerInvariant(),
    };

    /// <summary>The settings saved in run directory <paramref name="runDir"/> (null: it has no run.json), read without taking the run.</summary>
    public static RunSettings? Read(string runDir)
    {
        var path = System.IO.Path.Combine(runDir, RunDirectory.SettingsFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<RunSettings>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a run's settings ({e.Message})", e);
        }
    }

    /// <summary>What differs from <paramref name="saved"/>: fixed settings (errors, one per option) and adjustable ones (notices).</summary>
    public (IReadOnlyList<string> Errors, IReadOnlyList<string> Changes) CompareWith(RunSettings saved)
    {
        static IEnumerable<string> Diff(IReadOnlyDictionary<string, string> now, IReadOnlyDictionary<string, string> then) =>
            now.Keys.Union(then.Keys).Order(StringComparer.Ordinal)
               .Where(k => now.GetValueOrDefault(k) != then.GetValueOrDefault(k))
               .Select(k => $"{k} {then.GetValueOrDefault(k) ?? "(unset)"} -> {now.GetValueOrDefault(k) ?? "(unset)"}");
        return (Diff(Fixed, saved.Fixed).ToList(), Diff(Adjustable, saved.Adjustable).ToList());
    }
}

/// <summary>Raised when another process holds a run directory.</summary>
public sealed class RunInUseException(string message) : IOException(message);

/// <summary>
/// A training run's directory, held by one process at a time. <see cref="Open"/> takes the run lock — an exclusive
/// <c>flock</c> on <c>.lock</c> (what .NET's <see cref="FileShare.None"/> takes on Linux and macOS), which the kernel
/// drops when the process dies, so a kill -9 leaves no stale lock — and then, being the only writer, repairs what a
/// killed save left (<see cref="Checkpoint.RecoverRun"/>). The holder's process id is in <c>.lock.pid</c> for the
/// message a second process gets.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    public const string LockFile = ".lock", SettingsFile = "run.json";
    private const string OwnerFile = ".lock.pid";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly FileStream lockStream;

    public string Path { get; }
    /// <summary>What <see cref="Open"/> repaired (a line each), for notices.</summary>
    public IReadOnlyList<string> Repairs { get; }
    public string LastDir => System.IO.Path.Combine(Path, "last");
    /// <summary>Whether the run has a checkpoint to resume from.</summary>
    public bool CanResume => Directory.Exists(LastDir);

    private RunDirectory(string path, FileStream lockStream)
    {
        Path = path;
        this.lockStream = lockStream;
        Repairs = Checkpoint.RecoverRun(path);
    }

    /// <summary>Creates <paramref name="path"/> if needed and takes it; a run directory another process holds is refused at once.</summary>
    public static RunDirectory Open(string path)
    {
        if (File.Exists(path)) throw new IOException($"{path} is a file; a run directory is needed there");
        Directory.CreateDirectory(path);
        FileStream stream;
        try
        {
            stream = new FileStream(System.IO.Path.Combine(path, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            var owner = File.Exists(System.IO.Path.Combine(path, OwnerFile)) ? File.ReadAllText(System.IO.Path.Combine(path, OwnerFile)).Trim() : "";
            throw new RunInUseException($"{path} is in use by {(int.TryParse(owner, out int pid) ? $"process {pid}" : "another process")} (its lock {System.IO.Path.Combine(path, LockFile)} is held); " +
                                        "wait for it to finish, stop it, or choose another --out");
        }
        try
        {
            AtomicFile.Write(System.IO.Path.Combine(path, OwnerFile), tmp => File.WriteAllText(tmp, $"{Environment.ProcessId}\n"));
            return new RunDirectory(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Before a fresh start: refuses a directory that holds another run's checkpoints without a <c>last/</c> to resume
    /// from (training from scratch there would overwrite its <c>best/</c> and mix its history).
    /// </summary>
    public void CheckFreshStart()
    {
        var found = new[] { "best", "averaged", "history" }.Where(n => Directory.Exists(System.IO.Path.Combine(Path, n)))
            .Concat(Directory.GetDirectories(Path, "tokens-*").Select(System.IO.Path.GetFileName).OfType<string>())
            .Select(n => n + "/").ToList();
        if (found.Count > 0)
            throw new IOException($"{Path} holds checkpoints of an earlier run ({string.Join(", ", found)}) but no last/ to resume from; " +
                                  "training from scratch would overwrite them: choose another --out, or move them away");
    }

    /// <summary>The settings saved by the run's first start; null for a new run (or one started before run.json existed).</summary>
    public RunSettings? ReadSettings() => RunSettings.Read(Path);

    /// <summary>
    /// On resume: compares <paramref name="current"/> with the saved settings; a different fixed setting is an error
    /// listing each one, a different adjustable one a notice (returned). Then saves <paramref name="current"/>.
    /// </summary>
    public IReadOnlyList<string> CheckAndSaveSettings(RunSettings current)
    {
        var changes = new List<string>();
        if (ReadSettings() is { } saved)
        {
            var (errors, adjusted) = current.CompareWith(saved);
            if (errors.Count > 0)
                throw new ArgumentException($"{Path} was started with other settings, which a resume cannot change ({string.Join("; ", errors)}): " +
                                            "give the same options, or choose another --out to start a new run");
            changes.AddRange(adjusted);
        }
        AtomicFile.Write(System.IO.Path.Combine(Path, SettingsFile), tmp => File.WriteAllText(tmp, JsonSerializer.Serialize(current, Json), new UTF8Encoding(false)));
        return changes;
    }

    public void Dispose() => lockStream.Dispose();
}
