using Transformers.Lab.Runner;

namespace Transformers.Tests.Lab;

public sealed class MachineStampTests
{
    private static readonly DateTime Noon = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(1, "Zen | 2 cores | 1 torch thread | 2026-12-07 12:00 UTC | commit 0123456 | load 0.50")]
    [InlineData(2, "Zen | 2 cores | 2 torch threads | 2026-12-07 12:00 UTC | commit 0123456 | load 0.50")]
    [InlineData(MachineStamp.NotTimed, "Zen | 2 cores | drawn here, timed elsewhere | 2026-12-07 12:00 UTC | commit 0123456 | load 0.50")]
    public void OneLine_SaysTheThreads_OrThatNothingWasTimedHere(int threads, string expected) =>
        Assert.Equal(expected, new MachineStamp("Zen", 2, threads, Noon, "0123456789abcdef0123456789abcdef01234567", "0.50").OneLine);
}
