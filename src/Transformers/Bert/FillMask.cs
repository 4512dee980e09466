using Transformers.Tokenizer;
using Transformers.Tokenizer.Processing;
using static TorchSharp.torch;

namespace Transformers.Bert;

/// <summary>One candidate for a [MASK]: the piece, its probability, and the word it makes with the pieces around it.</summary>
public sealed record MaskCandidate(string Token, double Probability, string Word);

/// <summary>The candidates for one [MASK] (its index among the text's masks) and the text with every mask filled by its best candidate.</summary>
public sealed record FilledMask(int Mask, IReadOnlyList<MaskCandidate> Candidates);

public sealed record FillMaskResult(string Text, IReadOnlyList<FilledMask> Masks, string Filled);

/// <summary>
/// HF's fill-mask pipeline: the top-k tokens and probabilities for each [MASK] of a text. A candidate that is a ## piece
/// is shown as the word it completes (the piece before the mask glued to it), and <see cref="FillMaskResult.Filled"/>
/// is the text with every mask replaced by its best piece and decoded as WordPiece decodes (## pieces joined).
/// </summary>
public static class FillMask
{
    public static FillMaskResult Predict(BertForMaskedLM model, WordPieceTokenizer tokenizer, string text, int topK = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        if (!text.Contains(tokenizer.Options.MaskToken, StringComparison.Ordinal))
            throw new ArgumentException($"no {tokenizer.Options.MaskToken} in \"{text}\": write {tokenizer.Options.MaskToken} where a word should be predicted");
        var ids = tokenizer.Encode(text, null, new BertEncodeOptions { AddSpecialTokens = true }).Ids;
        if (ids.Length > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"the text has {ids.Length} tokens; the model takes at most {model.Config.MaxPositionEmbeddings}");
        var positions = Enumerable.Range(0, ids.Length).Where(i => ids[i] == tokenizer.MaskId).ToArray();
        var device = model.Bert.WordEmbeddings.device;
        var candidates = new List<FilledMask>();
        var best = ids.ToArray();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var input = tensor(ids.Select(i => (long)i).ToArray(), device: device).unsqueeze(0);            // [1, seq]
            var logits = model.Forward(input, ones_like(input));                                             // [1, seq, vocab]
            var at = tensor(positions.Select(p => (long)p).ToArray(), device: device);
            var probabilities = logits[0].index_select(0, at).softmax(-1);                                   // [masks, vocab]
            var (values, indices) = probabilities.topk(Math.Min(topK, model.Config.VocabSize), dim: -1);
            var p = values.to(ScalarType.Float64).cpu().data<double>().ToArray();
            var k = indices.cpu().data<long>().ToArray();
            int width = (int)values.shape[1];
            for (int m = 0; m < positions.Length; m++)
            {
                var list = new List<MaskCandidate>();
                for (int j = 0; j < width; j++)
                {
                    int id = (int)k[m * width + j];
                    list.Add(new MaskCandidate(tokenizer.IdToToken(id), p[m * width + j], Word(tokenizer, ids, positions[m], id)));
                }
                candidates.Add(new FilledMask(m, list));
                best[positions[m]] = (int)k[m * width];
            }
        }
        return new FillMaskResult(text, candidates, tokenizer.Decode(best, skipSpecialTokens: true));
    }

    /// <summary>The whole word the candidate piece makes where the mask is: the pieces of the word around it, reassembled.</summary>
    private static string Word(WordPieceTokenizer tokenizer, int[] ids, int position, int candidate)
    {
        string prefix = tokenizer.Options.ContinuingSubwordPrefix;
        bool IsPiece(int id) => tokenizer.IdToToken(id).StartsWith(prefix, StringComparison.Ordinal);
        int start = position, end = position + 1;
        if (IsPiece(candidate))
            while (start > 0 && !tokenizer.SpecialTokenIds.Contains(ids[start - 1]) && (start == position || IsPiece(ids[start]))) start--;
        while (end < ids.Length && ids[end] != tokenizer.MaskId && IsPiece(ids[end])) end++;
        var word = ids[start..end].ToArray();
        word[position - start] = candidate;
        return tokenizer.Decode(word, skipSpecialTokens: true);
    }
}
