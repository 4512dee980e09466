using System.Globalization;
using System.Text;
using Transformers.Bert;
using Transformers.Lab.Runner;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Transformers.Lab.Bert;

/// <summary>
/// Issue 15 item 4: the MiniLM forward written flat, as one function over the model's own weights (no modules, no
/// checks, one dispose scope), to tell what our module code costs from what libtorch's operations cost, and what three
/// ways of holding the weights buy at small batches: W^Q, W^K, W^V stacked once into one [1152, 384] matrix (one
/// product instead of three, as ONNX Runtime's graph optimiser does); every weight stored transposed, [in, out]
/// contiguous, multiplied with <c>addmm</c> (another GEMM layout for oneMKL); and one thread for the whole call. Every
/// variant's last hidden state is compared with <see cref="BertModel.Forward"/>'s.
/// </summary>
internal static class MiniLmFlat
{
    /// <summary>One layer's weights, as a variant holds them.</summary>
    private sealed record Layer(Tensor[] Weights, Tensor[] Biases, Tensor? Qkv, Tensor? QkvBias,
                                Tensor AttnNormW, Tensor AttnNormB, Tensor FfnNormW, Tensor FfnNormB);

    private sealed record Weights(Tensor Word, Tensor Position, Tensor Type0, Tensor EmbNormW, Tensor EmbNormB, Layer[] Layers, bool Transposed,
                                  int Heads, double Eps);

    /// <summary>Appends the section to <paramref name="report"/>: our module forward, the flat variants and ORT's time (<paramref name="ortMs"/>).</summary>
    public static void Compare(BertModel model, Tensor ids, Tensor mask, double ortMs, Func<Action, TimingStats> time, StringBuilder report)
    {
        using var scope = NewDisposeScope();
        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter.detach());
        Tensor reference;
        using (no_grad()) reference = model.Forward(ids, mask).LastHiddenState;

        var variants = new (string Name, Weights W, int Threads)[]
        {
            ("flat, the model's weights as they are", Build(p, model.Config, stack: false, transpose: false), 0),
            ("flat, W^Q W^K W^V stacked once (one 384 → 1152 product)", Build(p, model.Config, stack: true, transpose: false), 0),
            ("flat, weights stored transposed [in, out] (addmm)", Build(p, model.Config, stack: false, transpose: true), 0),
            ("flat, stacked and transposed", Build(p, model.Config, stack: true, transpose: true), 0),
            ("flat, stacked, 1 thread for the call", Build(p, model.Config, stack: true, transpose: false), 1),
            ("flat, stacked and transposed, 1 thread for the call", Build(p, model.Config, stack: true, transpose: true), 1),
        };
        var ours = time(() => model.Forward(ids, mask).LastHiddenState[0, 0, 0].item<float>());
        report.AppendLine("The same forward written flat (one function over the model's weights, no modules, no input checks, no pooler, one dispose scope):").AppendLine();
        report.AppendLine("| forward | ms (median) | × ORT's speed | max abs difference to ours |");
        report.AppendLine("|---|--:|--:|--:|");
        report.AppendLine(CultureInfo.InvariantCulture, $"| ONNX Runtime | {ortMs:F3} | 1.00 | |");
        report.AppendLine(CultureInfo.InvariantCulture, $"| ours (`BertModel.Forward`) | {ours.MedianMs:F3} | {ortMs / ours.MedianMs:F2} | 0 |");
        int threads = get_num_threads();
        foreach (var (name, w, callThreads) in variants)
        {
            float diff;
            using (no_grad()) diff = (Forward(w, ids, mask) - reference).abs().max().item<float>();
            var t = time(() =>
            {
                if (callThreads > 0) set_num_threads(callThreads);
                try { Forward(w, ids, mask)[0, 0, 0].item<float>(); }
                finally { if (callThreads > 0) set_num_threads(threads); }
            });
            report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {t.MedianMs:F3} | {ortMs / t.MedianMs:F2} | {diff:G2} |");
        }
        report.AppendLine();
    }

    private static Weights Build(Dictionary<string, Tensor> p, BertConfig c, bool stack, bool transpose)
    {
        Tensor Hold(Tensor w) => transpose ? w.t().contiguous() : w.contiguous();
        var layers = new Layer[c.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            string l = $"encoder.layer.{i}.";
            Tensor W(string n) => p[l + n + ".weight"];
            Tensor B(string n) => p[l + n + ".bias"];
            string[] names = ["self_attn.query", "self_attn.key", "self_attn.value", "self_attn.output", "ffn.w1", "ffn.w2"];
            layers[i] = new Layer(names.Select(n => Hold(W(n))).ToArray(), names.Select(B).ToArray(),
                stack ? Hold(cat([W(names[0]), W(names[1]), W(names[2])], 0)) : null,
                stack ? cat([B(names[0]), B(names[1]), B(names[2])], 0) : null,
                W("self_attn_norm"), B("self_attn_norm"), W("ffn_norm"), B("ffn_norm"));
        }
        return new Weights(p["embeddings.word_embeddings.weight"], p["embeddings.position_embeddings.weight"],
            p["embeddings.token_type_embeddings.weight"][0], p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"],
            layers, transpose, c.NumAttentionHeads, c.LayerNormEps);
    }

    /// <summary>ids, mask: [batch, seq] -> last hidden state [batch, seq, hidden] (BERT post-LN, exact GELU, as <see cref="BertModel"/>).</summary>
    private static Tensor Forward(Weights w, Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long batch = ids.shape[0], seq = ids.shape[1], hidden = w.Word.shape[1];
        long numHeads = w.Heads, headDim = hidden / numHeads;
        double eps = w.Eps;
        long[] norm = [hidden];
        Tensor Linear(Tensor x, Tensor weight, Tensor bias)            // x [rows, in] -> [rows, out]
            => w.Transposed ? addmm(bias, x, weight, 1, 1) : nn.functional.linear(x, weight, bias);
        Tensor Split(Tensor t) => t.view(batch, seq, numHeads, headDim).transpose(1, 2);   // [batch, heads, seq, headDim]
        var keep = mask.ne(0).view(batch, 1, 1, seq);
        var x = w.Word.index_select(0, ids.view(-1)).view(batch, seq, hidden)
                + w.Position.narrow(0, 0, seq) + w.Type0;
        x = nn.functional.layer_norm(x, norm, w.EmbNormW, w.EmbNormB, eps).view(batch * seq, hidden);   // [rows, hidden]
        foreach (var l in w.Layers)
        {
            Tensor q, k, v;
            if (l.Qkv is not null)
            {
                var qkv = Linear(x, l.Qkv, l.QkvBias!).view(batch, seq, 3, numHeads, headDim).permute(2, 0, 3, 1, 4);
                (q, k, v) = (qkv[0], qkv[1], qkv[2]);
            }
            else (q, k, v) = (Split(Linear(x, l.Weights[0], l.Biases[0])), Split(Linear(x, l.Weights[1], l.Biases[1])), Split(Linear(x, l.Weights[2], l.Biases[2])));
            var heads = nn.functional.scaled_dot_product_attention(q, k, v, keep);              // [batch, heads, seq, headDim]
            var merged = heads.transpose(1, 2).reshape(batch * seq, hidden);
            x = nn.functional.layer_norm(x + Linear(merged, l.Weights[3], l.Biases[3]), norm, l.AttnNormW, l.AttnNormB, eps);
            var up = nn.functional.gelu(Linear(x, l.Weights[4], l.Biases[4]));
            x = nn.functional.layer_norm(x + Linear(up, l.Weights[5], l.Biases[5]), norm, l.FfnNormW, l.FfnNormB, eps);
        }
        return x.view(batch, seq, hidden).MoveToOuterDisposeScope();
    }
}
