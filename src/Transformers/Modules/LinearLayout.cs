using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Transformers.Modules;

/// <summary>
/// Where an <c>nn.Linear</c>'s weight lies in memory. PyTorch stores it [out, in], row-major; <c>linear(x, W)</c> then
/// hands the BLAS a transposed right operand, and at a few rows (a batch of one sentence, a beam of four) libtorch's
/// oneMKL takes a path 3–6× slower than for a row-major one (`experiments/results/speed/minilm-transposed.md`).
/// <see cref="UseInputMajorStorage"/> keeps every weight's shape [out, in] and values — state-dict names, HF layout,
/// autograd and checkpoints unchanged — but makes it a view of [in, out] storage, so <c>linear</c> passes the BLAS a
/// row-major operand: MiniLM's 1 × 16 forward 2.0–2.5× faster, large batches and training steps alike.
/// </summary>
public static class LinearLayout
{
    /// <summary>
    /// Re-lays every <see cref="Linear"/> weight in <paramref name="model"/> as a [out, in] view of [in, out] storage;
    /// returns how many. Each becomes a new parameter and the old one is freed: not for a Linear whose weight another module
    /// shares (the tie would be lost; our translators tie an Embedding instead, see <see cref="UseInputMajorStorage(Embedding)"/>).
    /// </summary>
    public static int UseInputMajorStorage(nn.Module model)
    {
        int count = 0;
        using var _ = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            if (module is not Linear linear || linear.weight is not { } old || IsInputMajor(old)) continue;
            linear.weight = Relaid(old);                                                          // [out, in], strides [1, out]
            old.Dispose();                                                                        // after the setter, which reads it
            count++;
        }
        return count;
    }

    /// <summary>
    /// Re-lays an <see cref="Embedding"/> whose weight E [vocab, d] is also a model's output layer (logits = h Eᵀ, tied
    /// embeddings) as a view of [d, vocab] storage, so that Eᵀ reaches the BLAS row-major, as a re-laid Linear's weight
    /// does. Lookups then gather d strided floats per token, a cost that only a decoder's few-row products repay.
    /// Returns whether it changed anything; the old parameter is freed.
    /// </summary>
    public static bool UseInputMajorStorage(Embedding embedding)
    {
        using var _ = no_grad();
        if (embedding.weight is not { } old || IsInputMajor(old)) return false;
        embedding.weight = Relaid(old);                                                           // [vocab, d], strides [1, vocab]
        old.Dispose();                                                                            // after the setter, which reads it
        return true;
    }

    /// <summary>A new parameter with <paramref name="old"/>'s shape and values in transposed storage.</summary>
    private static Parameter Relaid(Parameter old) => new(old.detach().t().contiguous().t(), old.requires_grad);

    /// <summary>Whether a 2-d weight [out, in] lies in memory as [in, out] (strides [1, out]).</summary>
    public static bool IsInputMajor(Tensor weight) =>
        weight.dim() == 2 && weight.stride(0) == 1 && weight.stride(1) == weight.shape[0];
}
