using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Modules;

/// <summary>
/// Where dropout draws its noise. Outside <see cref="Use"/> it is libtorch's global generator, as for <c>nn.Dropout</c>.
/// Inside it, the calling thread draws from a generator of its own seeded by the caller (the trainer seeds one per
/// batch), so that the noise depends only on the batch: data-parallel workers running at the same time on different
/// threads draw what a single worker would have drawn for the same batch, and an interrupted run resumes exactly
/// without saving any generator state.
/// </summary>
public static class DropoutNoise
{
    private sealed class Scope(ulong seed, Generator generator) : IDisposable
    {
        public ulong Seed { get; } = seed;
        public Generator Generator { get; } = generator;
        public ulong Draws { get; set; }
        public void Dispose()
        {
            current = null;
            Generator.Dispose();
        }
    }

    [ThreadStatic] private static Scope? current;

    /// <summary>Serialises code that must draw from libtorch's global generator (see <see cref="WithGlobalGenerator{T}"/>).</summary>
    private static readonly Lock GlobalGenerator = new();

    /// <summary>Whether this thread draws dropout noise from its own seeded generator.</summary>
    public static bool IsSeeded => current is not null;

    /// <summary>Until the result is disposed, dropout on this thread draws from a generator seeded with <paramref name="seed"/> on <paramref name="device"/>.</summary>
    public static IDisposable Use(ulong seed, Device device)
    {
        if (current is not null) throw new InvalidOperationException("dropout noise is already seeded on this thread");
        current = new Scope(seed, new Generator(seed, device));
        return current;
    }

    /// <summary>
    /// Inverted dropout (Srivastava et al. 2014): in training, each element is zeroed with probability <paramref name="p"/>
    /// and the rest are scaled by 1/(1-p); otherwise <paramref name="x"/> itself.
    /// </summary>
    public static Tensor Apply(Tensor x, double p, bool training)
    {
        if (!training || p == 0) return x;
        if (current is null) return nn.functional.dropout(x, p, true);
        using var keep = empty_like(x).bernoulli_(1 - p, current.Generator).div_(1 - p);   // 0 or 1/(1-p), like x
        return x.mul(keep);
    }

    /// <summary>
    /// Runs <paramref name="work"/>, whose dropout libtorch draws from its global generator (PyTorch's fused multi-layer
    /// RNNs take no generator), reproducibly: inside a seeded scope the global generator is seeded from this thread's
    /// seed and held for the call, so concurrent workers take turns; outside one, <paramref name="work"/> just runs.
    /// </summary>
    public static T WithGlobalGenerator<T>(Func<T> work)
    {
        if (current is null) return work();
        lock (GlobalGenerator)
        {
            random.manual_seed((long)(Mix(current.Seed, ++current.Draws) >> 1));
            return work();
        }
    }

    /// <summary>A seed for batch <paramref name="batch"/> of epoch <paramref name="epoch"/> of a run seeded with <paramref name="seed"/> (SplitMix64 finaliser).</summary>
    public static ulong BatchSeed(int seed, int epoch, int batch) => Mix(Mix(Mix(0x5DEECE66DUL, (ulong)seed), (ulong)epoch), (ulong)batch);

    private static ulong Mix(ulong state, ulong value)
    {
        ulong z = state + 0x9E3779B97F4A7C15UL * (value + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary><c>nn.Dropout</c> that draws from <see cref="DropoutNoise"/> (and so can be made reproducible per batch).</summary>
public sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    public SeededDropout(double p) : base(nameof(SeededDropout))
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout must be in [0, 1)");
        P = p;
    }

    /// <summary>Probability of zeroing an element.</summary>
    public double P { get; }

    public override Tensor forward(Tensor x) => DropoutNoise.Apply(x, P, training);
}
