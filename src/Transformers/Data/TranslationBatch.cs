using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Data;

/// <summary>
/// A batch of sentence pairs as token ids without special tokens, as <see cref="TokenBatcher"/> cuts them: the one batch
/// type from corpus to loss. <see cref="ToTensors"/> adds EOS to sources, BOS/EOS to targets and pads; kept as ids (not
/// tensors) so an epoch's batches cost little memory. A batch to translate has no targets (<see cref="SourceTensors"/>).
/// </summary>
public sealed record TranslationBatch(IReadOnlyList<int[]> Sources, IReadOnlyList<int[]> Targets)
{
    /// <summary>The pairs' positions in the list the batcher cut (empty for a batch built by hand).</summary>
    public IReadOnlyList<int> Indices { get; init; } = [];

    public int Size => Sources.Count;
    public int SourceLength => Sources.Max(s => s.Length);
    public int TargetLength => Targets.Count == 0 ? 0 : Targets.Max(t => t.Length);

    /// <summary>Target tokens the loss is computed on (tokens + EOS per sentence).</summary>
    public long TargetTokens => Targets.Sum(t => (long)t.Length + 1);

    /// <summary>Tokens before padding, both sides (no special tokens).</summary>
    public long RealTokens => Sources.Sum(s => (long)s.Length) + Targets.Sum(t => (long)t.Length);

    /// <summary>Tokens after padding each side to its longest sequence, both sides (no special tokens).</summary>
    public long PaddedTokens => (long)Size * (SourceLength + TargetLength);

    /// <summary>A batch of sources only, to translate.</summary>
    public static TranslationBatch OfSources(IReadOnlyList<int[]> sources) => new(sources, []);

    /// <summary>
    /// The batch's tensors for <paramref name="model"/>: its special tokens, on its device. The ids are checked against
    /// its vocabulary here, on the host, once: the models' forwards read no values back from the device to check them.
    /// </summary>
    public BatchTensors ToTensors(Seq2SeqModel model)
    {
        CheckIds(model.VocabSize);
        return ToTensors(model.Special, model.parameters().First().device);
    }

    /// <summary>The sources' tensors for <paramref name="model"/> (see <see cref="ToTensors(Seq2SeqModel)"/>).</summary>
    public (Tensor Source, Tensor SourceMask) SourceTensors(Seq2SeqModel model)
    {
        CheckIds(model.VocabSize);
        return SourceTensors(model.Special, model.parameters().First().device);
    }

    /// <summary>Throws if an id is outside [0, <paramref name="vocabSize"/>), naming the sentence and the id.</summary>
    public void CheckIds(int vocabSize)
    {
        foreach (var (side, rows) in new[] { ("source", Sources), ("target", Targets) })
            for (int b = 0; b < rows.Count; b++)
                foreach (int id in rows[b])
                    if ((uint)id >= (uint)vocabSize)
                        throw new ArgumentException($"{side} id {id} (sentence {b} of the batch) is outside the vocabulary of {vocabSize}");
    }

    /// <summary>
    /// src [batch, S] (tokens + EOS, padded), srcMask [batch, S] (true on tokens and EOS), tgtIn [batch, T] (BOS + tokens),
    /// tgtOut [batch, T] (tokens + EOS), int64 and bool, on <paramref name="device"/>.
    /// </summary>
    public BatchTensors ToTensors(SpecialTokens special, Device? device = null)
    {
        if (Targets.Count != Sources.Count)
            throw new InvalidOperationException($"a batch of {Sources.Count} sources has {Targets.Count} targets: a batch to translate has only SourceTensors");
        var (source, mask) = SourceTensors(special, device);
        int batch = Size, t = TargetLength + 1;
        var tin = new long[batch, t];
        var tout = new long[batch, t];
        for (int b = 0; b < batch; b++)
        {
            var target = Targets[b];
            for (int i = 0; i < t; i++)
            {
                tin[b, i] = i == 0 ? special.Bos : i <= target.Length ? target[i - 1] : special.Pad;
                tout[b, i] = i < target.Length ? target[i] : i == target.Length ? special.Eos : special.Pad;
            }
        }
        return new BatchTensors(source, mask, tensor(tin, device: device), tensor(tout, device: device));
    }

    /// <summary>src [batch, S] (tokens + EOS, padded) and srcMask [batch, S] (true on tokens and EOS) on <paramref name="device"/>.</summary>
    public (Tensor Source, Tensor SourceMask) SourceTensors(SpecialTokens special, Device? device = null)
    {
        int batch = Size, s = SourceLength + 1;
        var src = new long[batch, s];
        var mask = new bool[batch, s];
        for (int b = 0; b < batch; b++)
        {
            var source = Sources[b];
            for (int i = 0; i < s; i++)
            {
                src[b, i] = i < source.Length ? source[i] : i == source.Length ? special.Eos : special.Pad;
                mask[b, i] = i <= source.Length;
            }
        }
        return (tensor(src, device: device), tensor(mask, device: device));
    }
}

/// <summary>A batch's tensors (see <see cref="TranslationBatch.ToTensors"/>): src, srcMask [batch, S]; tgtIn, tgtOut [batch, T].</summary>
public sealed record BatchTensors(Tensor Source, Tensor SourceMask, Tensor TargetIn, Tensor TargetOut) : IDisposable
{
    public void Dispose()
    {
        Source.Dispose();
        SourceMask.Dispose();
        TargetIn.Dispose();
        TargetOut.Dispose();
    }
}
