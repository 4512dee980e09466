namespace Transformers.Tests;

/// <summary>
/// Tests that read process-wide counters (live tensors, RSS) run alone: xunit runs this collection after the
/// parallel ones, one test at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (process-wide counters)";

    /// <summary>Collects garbage so that finalizers of earlier tests' tensors do not run during a measurement.</summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
