using TorchSharp;
using Transformers.Attention;
using Transformers.Bert;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Inspection;

/// <summary>
/// Importance of every head of one attention kind (Michel et al. 2019, "Are Sixteen Heads Really Better than One?",
/// §3: the effect of masking a single head): <c>Delta[layer, head] = L(head masked) − L(no head masked)</c> on a
/// fixed batch. Positive: the model gets worse without the head.
/// </summary>
/// <param name="Loss">What L is: "mlm" (masked-LM cross-entropy), "translation" (token cross-entropy) or
/// "embedding" (1 − cosine between the sentence embedding with and without the mask, so the base loss is 0).</param>
public sealed record ImportanceMatrix(AttentionKind Kind, string Loss, double BaseLoss, double[,] Delta)
{
    public int Layers => Delta.GetLength(0);
    public int Heads => Delta.GetLength(1);
}

public static class HeadImportance
{
    /// <summary>
    /// The generic ablation loop: <paramref name="loss"/> is called with a [layers, heads] mask of ones with one zero
    /// (and once with null for the base loss) and returns the loss for it.
    /// </summary>
    public static ImportanceMatrix Ablate(AttentionKind kind, int layers, int heads, string lossName, Func<Tensor?, double> loss, Device? device = null)
    {
        double baseLoss;
        using (NewDisposeScope()) baseLoss = loss(null);
        var delta = new double[layers, heads];
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
            {
                using var scope = NewDisposeScope();
                var mask = ones(layers, heads, device: device);
                mask[l, h] = tensor(0f);
                delta[l, h] = loss(mask) - baseLoss;
            }
        return new ImportanceMatrix(kind, lossName, baseLoss, delta);
    }

    /// <summary>MLM loss importance. ids, mask, labels: [batch, seq] (labels −100 where no prediction is due).</summary>
    public static ImportanceMatrix ForMaskedLM(BertForMaskedLM model, Tensor ids, Tensor? mask, Tensor labels)
    {
        using var _ = no_grad();
        return Ablate(AttentionKind.EncoderSelf, model.Config.NumHiddenLayers, model.Config.NumAttentionHeads, "mlm",
            headMask => model.Loss(ids, mask, labels, headMask).item<float>(), ids.device);
    }

    /// <summary>
    /// For an encoder without a pretraining head (all-MiniLM-L6-v2 ships without its MLM head): the loss is
    /// 1 − cos(e_masked, e) of the mean-pooled sentence embedding e (the quantity the model was trained to get
    /// right), averaged over the batch. ids, mask: [batch, seq].
    /// </summary>
    public static ImportanceMatrix ForSentenceEmbedding(BertModel model, Tensor ids, Tensor mask)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var reference = MeanPool(model, ids, mask, null);                          // [batch, hidden]
        return Ablate(AttentionKind.EncoderSelf, model.Config.NumHiddenLayers, model.Config.NumAttentionHeads, "embedding", headMask =>
        {
            if (headMask is null) return 0.0;
            var e = MeanPool(model, ids, mask, headMask);                           // [batch, hidden]
            return (1 - nn.functional.cosine_similarity(e, reference, dim: 1)).mean().item<float>();
        }, ids.device);
    }

    private static Tensor MeanPool(BertModel model, Tensor ids, Tensor mask, Tensor? headMask)
    {
        var h = model.Forward(ids, mask, headMask: headMask).LastHiddenState;      // [batch, seq, hidden]
        var m = mask.unsqueeze(-1).to(h.dtype);                                     // [batch, seq, 1]
        return (h * m).sum(1) / m.sum(1).clamp_min(1e-9);                           // [batch, hidden]
    }

    /// <summary>
    /// Translation loss importance of every encoder self-, decoder self- and cross-attention head of a
    /// <see cref="TransformerTranslator"/>: token cross-entropy of tgtOut (padding ignored), with one head at a time
    /// switched off through the translator's <see cref="TranslatorHeadMask"/>.
    /// </summary>
    public static IReadOnlyList<ImportanceMatrix> ForTranslator(TransformerTranslator model, Tensor src, Tensor srcMask, Tensor tgtIn, Tensor tgtOut)
    {
        using var _ = no_grad();
        var modules = AttentionModules(model);
        var result = new List<ImportanceMatrix>();
        foreach (var (kind, layers) in modules)
        {
            int heads = layers[0].NumHeads;
            result.Add(Ablate(kind, layers.Count, heads, "translation", headMask =>
            {
                using var scope = NewDisposeScope();
                var mask = kind switch
                {
                    AttentionKind.EncoderSelf => new TranslatorHeadMask(EncoderSelf: headMask),
                    AttentionKind.DecoderSelf => new TranslatorHeadMask(DecoderSelf: headMask),
                    _ => new TranslatorHeadMask(Cross: headMask),
                };
                var logits = model.Forward(src, srcMask, tgtIn, mask);                                   // [batch, tgt, vocab]
                return nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), tgtOut.view(-1),
                                                   ignore_index: model.Special.Pad).item<float>();
            }));
        }
        return result;
    }

    /// <summary>The translator's attention modules per kind, in layer order (found by their names encoder.N.self_attn, decoder.N.self_attn / cross_attn).</summary>
    public static List<(AttentionKind Kind, List<MultiHeadAttention> Layers)> AttentionModules(nn.Module model)
    {
        var byKind = new Dictionary<AttentionKind, SortedDictionary<int, MultiHeadAttention>>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not MultiHeadAttention attention) continue;
            var parts = name.Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[1], out int layer)) continue;
            AttentionKind? kind = (parts[0], parts[2]) switch
            {
                ("encoder", "self_attn") => AttentionKind.EncoderSelf,
                ("decoder", "self_attn") => AttentionKind.DecoderSelf,
                ("decoder", "cross_attn") => AttentionKind.Cross,
                _ => null,
            };
            if (kind is { } k) (byKind.TryGetValue(k, out var d) ? d : byKind[k] = new())[layer] = attention;
        }
        if (byKind.Count == 0) throw new ArgumentException($"{model.GetType().Name} has no attention modules named encoder.N.self_attn / decoder.N.cross_attn");
        return byKind.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value.Values.ToList())).ToList();
    }

    /// <summary>
    /// Switches heads off by zeroing their columns of W^O in each layer's attention (headMask: [layers, heads], 0 = off);
    /// disposing the result restores the weights.
    /// </summary>
    public static IDisposable MaskByWeights(IReadOnlyList<MultiHeadAttention> layers, Tensor headMask)
    {
        var saved = new List<(Tensor Weight, Tensor Copy)>();
        using var _ = no_grad();
        var mask = headMask.to(ScalarType.Float32).cpu().data<float>().ToArray();
        int heads = layers[0].NumHeads;
        for (int l = 0; l < layers.Count; l++)
        {
            var weight = layers[l].named_parameters().Single(p => p.name == "output.weight").parameter;   // [dModel, dModel]: out x in
            var copy = weight.detach().clone();
            saved.Add((weight, copy));
            int headDim = layers[l].HeadDim;
            for (int h = 0; h < heads; h++)
                if (mask[l * heads + h] == 0) weight[.., (h * headDim)..((h + 1) * headDim)].zero_();
        }
        return new Restore(saved);
    }

    private sealed class Restore(List<(Tensor Weight, Tensor Copy)> saved) : IDisposable
    {
        public void Dispose()
        {
            using var _ = no_grad();
            foreach (var (weight, copy) in saved)
            {
                weight.copy_(copy);
                copy.Dispose();
            }
            saved.Clear();
        }
    }
}
