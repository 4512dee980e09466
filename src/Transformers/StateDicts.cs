using TorchSharp;
using static TorchSharp.torch;

namespace Transformers;

/// <summary>Strict copying of named tensors into a module, with one error listing every mismatch.</summary>
public static class StateDicts
{
    /// <summary>
    /// Copies <paramref name="weights"/> into <paramref name="module"/>'s state (named by <paramref name="nameOf"/>, identity
    /// by default). Throws an <see cref="InvalidDataException"/> naming <paramref name="source"/> and every missing,
    /// unexpected or mis-shaped tensor. <paramref name="ignore"/> marks file entries that may be left unused.
    /// </summary>
    public static void LoadStrict(nn.Module module, IReadOnlyDictionary<string, Tensor> weights, string source,
                                  Func<string, string>? nameOf = null, Func<string, bool>? ignore = null, string? describe = null)
    {
        var ours = module.state_dict().ToDictionary(kv => nameOf?.Invoke(kv.Key) ?? kv.Key, kv => kv.Value);
        var problems = new List<string>();
        foreach (var (name, p) in ours)
        {
            if (!weights.TryGetValue(name, out var w)) problems.Add($"missing: {name} {Shape(p)}");
            else if (!w.shape.SequenceEqual(p.shape)) problems.Add($"mis-shaped: {name} is {Shape(w)} in the file, the config needs {Shape(p)}");
        }
        foreach (var name in weights.Keys.Where(k => !ours.ContainsKey(k) && !(ignore?.Invoke(k) ?? false)).Order(StringComparer.Ordinal))
            problems.Add($"unexpected: {name} {Shape(weights[name])}");
        if (problems.Count > 0)
            throw new InvalidDataException($"{source} does not fit the {describe ?? module.GetName()}: {problems.Count} problem(s):\n  " + string.Join("\n  ", problems));
        using var _ = no_grad();
        foreach (var (name, p) in ours)
            p.copy_(weights[name].to(p.dtype, p.device));
    }

    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
