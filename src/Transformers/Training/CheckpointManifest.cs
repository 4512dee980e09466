using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Transformers.Training;

/// <summary>
/// <c>manifest.json</c>: the size and SHA-256 of every file of a checkpoint or exported model directory, written after
/// all of them. Its presence says the directory is complete; a file that differs from it (truncated, bytes flipped,
/// replaced) is named when the directory is loaded. Directories written before manifests existed have none and load
/// unverified.
/// </summary>
public static class CheckpointManifest
{
    public const string FileName = "manifest.json";
    private const int Version = 1;
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private sealed record Entry(string Name, long Bytes, string Sha256);
    private sealed record Manifest(int FormatVersion, List<Entry> Files);

    /// <summary>Writes the manifest of every file now in <paramref name="dir"/> (call it last).</summary>
    public static void Write(string dir)
    {
        var files = Directory.GetFiles(dir).Select(Path.GetFileName).OfType<string>()
            .Where(n => n != FileName).Order(StringComparer.Ordinal)
            .Select(n => new Entry(n, new FileInfo(Path.Combine(dir, n)).Length, Hash(Path.Combine(dir, n)))).ToList();
        File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(new Manifest(Version, files), Json), new UTF8Encoding(false));
    }

    /// <summary>
    /// Checks the files of <paramref name="dir"/> against its manifest (only <paramref name="only"/>, when given, of
    /// those it lists); does nothing when there is no manifest. Throws <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static void Verify(string dir, IReadOnlyCollection<string>? only = null)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return;
        Manifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a manifest ({e.Message})", e);
        }
        if (manifest.FormatVersion != Version)
            throw new InvalidDataException($"{path}: format version {manifest.FormatVersion}; this build reads version {Version}");
        foreach (var entry in manifest.Files ?? [])
        {
            if (only is not null && !only.Contains(entry.Name)) continue;
            var file = Path.Combine(dir, entry.Name);
            if (!File.Exists(file)) throw new InvalidDataException($"{file} is missing (listed in {path})");
            long bytes = new FileInfo(file).Length;
            if (bytes != entry.Bytes)
                throw new InvalidDataException($"{file} has {bytes:N0} bytes where {FileName} says {entry.Bytes:N0}: the file is truncated or was replaced");
            if (!string.Equals(Hash(file), entry.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{file} does not match its SHA-256 in {FileName}: the file is damaged or was changed after the save");
        }
    }

    private static string Hash(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
