using TorchSharp;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Training;

/// <summary>The tensors of a batch. src: [batch, S] (tokens + EOS, padded); srcMask: [batch, S] bool; tgtIn: [batch, T] (BOS + tokens); tgtOut: [batch, T] (tokens + EOS).</summary>
public sealed record BatchTensors(Tensor Source, Tensor SourceMask, Tensor TargetIn, Tensor TargetOut);

/// <summary>
/// A batch of sentence pairs as token ids without special tokens; <see cref="ToTensors"/> adds EOS to sources,
/// BOS/EOS to targets and pads. Kept as ids (not tensors) so an epoch's batches cost little memory.
/// </summary>
public sealed record TranslationBatch(IReadOnlyList<int[]> Sources, IReadOnlyList<int[]> Targets)
{
    /// <summary>Target tokens the loss is computed on (tokens + EOS per sentence).</summary>
    public long TargetTokens => Targets.Sum(t => (long)t.Length + 1);

    public BatchTensors ToTensors(SpecialTokens special, Device? device = null)
    {
        int batch = Sources.Count;
        int s = Sources.Max(x => x.Length) + 1, t = Targets.Max(x => x.Length) + 1;
        var src = new long[batch, s];
        var tin = new long[batch, t];
        var tout = new long[batch, t];
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < s; i++) src[b, i] = i < Sources[b].Length ? Sources[b][i] : i == Sources[b].Length ? special.Eos : special.Pad;
            for (int i = 0; i < t; i++)
            {
                tin[b, i] = i == 0 ? special.Bos : i <= Targets[b].Length ? Targets[b][i - 1] : special.Pad;
                tout[b, i] = i < Targets[b].Length ? Targets[b][i] : i == Targets[b].Length ? special.Eos : special.Pad;
            }
        }
        var srcMask = new bool[batch, s];                                    // true on tokens and EOS
        for (int b = 0; b < batch; b++)
            for (int i = 0; i <= Sources[b].Length; i++) srcMask[b, i] = true;
        return new BatchTensors(tensor(src, device: device), tensor(srcMask, device: device), tensor(tin, device: device), tensor(tout, device: device));
    }
}

/// <summary>What the trainer trains on: each epoch's batches (a deterministic function of the epoch, so a resumed run sees the same order) and the dev batches.</summary>
public interface ITrainingData
{
    IReadOnlyList<TranslationBatch> Epoch(int epoch);
    IReadOnlyList<TranslationBatch> Dev { get; }
}
