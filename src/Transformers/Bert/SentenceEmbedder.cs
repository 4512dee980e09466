using static TorchSharp.torch;

namespace Transformers.Bert;

/// <summary>
/// Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2: mean of the last hidden states
/// over real tokens, then L2 normalisation. Sentences are batched by length (less padding) and truncated to
/// <see cref="MaxTokens"/> word pieces including [CLS] and [SEP] (sentence-transformers' max_seq_length is 256).
/// </summary>
public sealed class SentenceEmbedder(BertModel model, Func<string, int[]> encodeWithSpecialTokens, int maxTokens = 256, int batchSize = 32)
{
    public int MaxTokens { get; } = Math.Min(maxTokens, model.Config.MaxPositionEmbeddings);

    /// <summary>Raised for each sentence longer than <see cref="MaxTokens"/> (index, token count), before it is truncated.</summary>
    public event Action<int, int>? Truncated;

    /// <summary>One unit-length vector [hidden] per sentence, in input order.</summary>
    public float[][] Embed(IReadOnlyList<string> sentences)
    {
        var ids = new int[sentences.Count][];
        for (int i = 0; i < sentences.Count; i++)
        {
            var e = encodeWithSpecialTokens(sentences[i]);
            if (e.Length > MaxTokens)
            {
                Truncated?.Invoke(i, e.Length);
                e = [.. e[..(MaxTokens - 1)], e[^1]];          // keep [SEP] last
            }
            ids[i] = e;
        }
        var result = new float[sentences.Count][];
        var order = Enumerable.Range(0, sentences.Count).OrderBy(i => ids[i].Length).ToArray();
        using var _ = no_grad();                              // inference_mode() measured no faster (MiniLmBenchmarks, 2026-12-06)
        var device = model.WordEmbeddings.device;                                              // inputs go where the model is
        foreach (var chunk in order.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            int len = chunk.Max(i => ids[i].Length);
            var idArr = new long[chunk.Length, len];
            var maskArr = new long[chunk.Length, len];
            for (int b = 0; b < chunk.Length; b++)
                for (int t = 0; t < ids[chunk[b]].Length; t++) { idArr[b, t] = ids[chunk[b]][t]; maskArr[b, t] = 1; }
            var mask = tensor(maskArr, device: device);
            var h = model.Forward(tensor(idArr, device: device), mask).LastHiddenState;                       // [batch, seq, hidden]
            var m = mask.unsqueeze(-1).to(h.dtype);                                           // [batch, seq, 1]
            var mean = (h * m).sum(1) / m.sum(1).clamp_min(1e-9);                             // [batch, hidden]
            var unit = nn.functional.normalize(mean, p: 2, dim: 1);                           // [batch, hidden]
            var rows = unit.cpu().data<float>().ToArray();
            int hidden = (int)unit.shape[1];
            for (int b = 0; b < chunk.Length; b++) result[chunk[b]] = rows[(b * hidden)..((b + 1) * hidden)];
        }
        return result;
    }

    /// <summary>Cosine similarities of unit vectors: a [n, n] matrix.</summary>
    public static float[,] CosineMatrix(float[][] unitVectors)
    {
        int n = unitVectors.Length;
        var sim = new float[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double dot = 0;
                for (int k = 0; k < unitVectors[i].Length; k++) dot += unitVectors[i][k] * unitVectors[j][k];
                sim[i, j] = (float)dot;
            }
        return sim;
    }
}
