using Transformers.Data;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Processing;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Inspection;

/// <summary>What a translator did with one sentence: its attention (and gates), and the target it was run on as text.</summary>
public sealed record TranslatorInspection(AttentionRecord Record, string Target, IReadOnlyList<long> SourceIds, IReadOnlyList<long> TargetIds, bool TargetIsTranslation);

/// <summary>
/// Inspecting a translator on one sentence, for `heads`, `heads --compare` and `serve`: the target is the text given
/// (or the token ids, e.g. another model's translation), else the model's own translation (greedy, or beam search with
/// <c>beam</c> &gt; 1), and every attention (and, for recurrent models, every gate) is recorded teacher-forced on it.
/// </summary>
public static class TranslatorInspector
{
    public static TranslatorInspection Inspect(Seq2SeqModel model, WordPieceTokenizer tokenizer, SpacingModel? spacing, string sourceText,
                                               string? targetText = null, int beam = 1, string? modelName = null, IReadOnlyList<long>? targetIds = null)
    {
        var vocab = tokenizer.Vocabulary.Tokens;
        var options = new BertEncodeOptions { AddSpecialTokens = false };
        int[] Encode(string s) => tokenizer.Encode(s, null, options).Ids;
        var source = AttentionCapture.PrepareText(sourceText, Encode, vocab, model.MaxLength - 1, "source");
        InspectionInput target;
        if (targetIds is not null)
        {
            var ids = targetIds.Take(model.MaxLength - 1).ToArray();
            target = new InspectionInput(ids, ids.Select(i => vocab[(int)i]).ToArray(), []);
        }
        else if (targetText is not null) target = AttentionCapture.PrepareText(targetText, Encode, vocab, model.MaxLength - 1, "target");
        else
        {
            using var scope = NewDisposeScope();
            var src = tensor(source.Ids.Append(model.Special.Eos).ToArray(), device: model.parameters().First().device).unsqueeze(0);   // [1, src], where the model is
            var best = Decoder.Translate(model, src, ones_like(src, ScalarType.Bool), new DecodingOptions { BeamSize = beam })[0][0].Tokens;
            var ids = best.Take(model.MaxLength - 1).Select(i => (long)i).ToArray();
            var how = beam > 1 ? $"beam-{beam}" : "greedy";
            target = new InspectionInput(ids, ids.Select(i => vocab[(int)i]).ToArray(), [$"No target given: the target is the model's {how} translation."]);
        }
        var record = AttentionCapture.FromTranslator(model, vocab, source, target, modelName ?? model.ArchitectureName);
        var pieces = target.Ids.Select(i => (int)i).ToArray();
        string text = spacing is not null ? spacing.Decode(pieces, tokenizer) : tokenizer.Decode(pieces, skipSpecialTokens: true);
        return new TranslatorInspection(record, text, source.Ids, target.Ids, targetText is null && targetIds is null);
    }

    /// <summary>Head importance of a Transformer on the inspected pair (Michel et al. 2019); none for recurrent models or an empty target.</summary>
    public static IReadOnlyList<ImportanceMatrix> Importance(Seq2SeqModel model, TranslatorInspection inspection)
    {
        if (model is not TransformerTranslator transformer || inspection.TargetIds.Count == 0) return [];
        using var scope = NewDisposeScope();
        var batch = new TranslationBatch([inspection.SourceIds.Select(i => (int)i).ToArray()], [inspection.TargetIds.Select(i => (int)i).ToArray()])
            .ToTensors(model.Special, model.parameters().First().device);
        return HeadImportance.ForTranslator(transformer, batch.Source, batch.SourceMask, batch.TargetIn, batch.TargetOut);
    }

    /// <summary>
    /// Two translators on one sentence, for `heads --compare` and `serve`'s /compare: each one's own translation, and —
    /// when they share a vocabulary — B run teacher-forced on A's translation, so that both alignments cover the same
    /// target tokens and their <see cref="Agreement"/> can be taken. <paramref name="inspectA"/> and
    /// <paramref name="inspectB"/> inspect the sentence on the target ids given (null: the model's own translation).
    /// </summary>
    public static Comparison Compare(string text, bool sharedVocabulary,
                                     Func<IReadOnlyList<long>?, TranslatorInspection> inspectA, Func<IReadOnlyList<long>?, TranslatorInspection> inspectB)
    {
        var a = inspectA(null);
        var bOwn = inspectB(null);
        var b = sharedVocabulary ? inspectB(a.TargetIds) : bOwn;
        double? agreement = sharedVocabulary ? Agreement(Alignment(a.Record), Alignment(b.Record)) : null;
        return new Comparison(text, new ComparedModel(a.Record.Model, a.Target, a), new ComparedModel(b.Record.Model, bOwn.Target, b), agreement);
    }

    /// <summary>
    /// The target-to-source alignment [target, source] of an inspection: the recurrent attention, or the Transformer's
    /// cross-attention averaged over heads and layers. Rows are the decoder inputs (BOS + target), columns source + EOS.
    /// </summary>
    public static float[,] Alignment(AttentionRecord record)
    {
        var layers = record.Layers.Where(l => l.Kind is AttentionKind.Cross or AttentionKind.Recurrent).ToList();
        if (layers.Count == 0) throw new ArgumentException($"{record.Model} has no cross or recurrent attention: no alignment");
        int rows = layers[0].Queries, cols = layers[0].Keys;
        var sum = new float[rows, cols];
        int maps = 0;
        foreach (var layer in layers)
            for (int h = 0; h < layer.Heads; h++, maps++)
                for (int q = 0; q < rows; q++)
                    for (int k = 0; k < cols; k++) sum[q, k] += layer[h, q, k];
        for (int q = 0; q < rows; q++)
            for (int k = 0; k < cols; k++) sum[q, k] /= maps;
        return sum;
    }

    /// <summary>
    /// Agreement of two alignments over the same target: the share of target positions whose most-attended source
    /// position is the same in both. Positions are decoder inputs, so row t is the step that predicts target token t.
    /// </summary>
    public static double Agreement(float[,] a, float[,] b)
    {
        if (a.GetLength(0) != b.GetLength(0) || a.GetLength(1) != b.GetLength(1))
            throw new ArgumentException($"alignments of different shapes ([{a.GetLength(0)}, {a.GetLength(1)}] and [{b.GetLength(0)}, {b.GetLength(1)}]) cannot be compared");
        int rows = a.GetLength(0), same = 0;
        for (int q = 0; q < rows; q++)
            if (ArgMax(a, q) == ArgMax(b, q)) same++;
        return rows == 0 ? 0 : (double)same / rows;
    }

    private static int ArgMax(float[,] m, int row)
    {
        int best = 0;
        for (int k = 1; k < m.GetLength(1); k++) if (m[row, k] > m[row, best]) best = k;
        return best;
    }
}
