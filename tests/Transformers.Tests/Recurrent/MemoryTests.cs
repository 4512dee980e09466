using TorchSharp;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Tests.Recurrent;

/// <summary>A training-like step inside one dispose scope leaves no live tensor behind, on every path.</summary>
public class MemoryTests
{
    [Theory]
    [MemberData(nameof(RecurrentCases.KindsOnEveryPath), MemberType = typeof(RecurrentCases))]
    public void ForwardAndBackwardLeaveNoLiveTensors(RecurrentCellKind kind, RecurrentPath path)
    {
        torch.manual_seed(41);
        using var stack = new RecurrentStack(RecurrentConfig.Tiny(kind) with { Dropout = 0.2 });
        using var x = torch.randn(3, 4, 3);
        using var lengths = torch.tensor(new long[] { 4, 0, 2 });
        TrainingStep(stack, x, lengths, path); // first backward allocates the parameters' .grad, which stay

        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 3; i++) TrainingStep(stack, x, lengths, path);

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    /// <summary>
    /// Our loop's forward and backward free each step's temporaries at the step: what they leave in the caller's scope
    /// (the batch's, in training) does not grow with the length. It grew by a few tensors per step, all kept alive until
    /// the batch ended.
    /// </summary>
    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void TheLoopLeavesAsManyTensorsInTheCallersScopeWhateverTheLength(RecurrentCellKind kind)
    {
        static long LeftAfterOneStep(RecurrentCellKind kind, int length)
        {
            torch.manual_seed(41);
            using var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
            using var x = torch.randn(3, length, 3);
            using var lengths = torch.tensor(new long[] { length, length - 1, 1 });
            using var scope = torch.NewDisposeScope();
            var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var result = stack.Run(x, lengths, path: RecurrentPath.Loop);
            (result.Output.pow(2).sum() + result.State.Hidden.sum()).backward();
            return DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        }

        Assert.Equal(LeftAfterOneStep(kind, 3), LeftAfterOneStep(kind, 12));
    }

    [Fact]
    public void DecodingStepsUnderNoGradLeaveNoLiveTensors()
    {
        using var stack = new RecurrentStack(new RecurrentConfig(RecurrentCellKind.Lstm, 3, 4, NumLayers: 2));
        using var x = torch.randn(2, 3);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            RecurrentState? state = null;
            for (var t = 0; t < 4; t++) state = stack.Step(x, state).State;
        }
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static void TrainingStep(RecurrentStack stack, Tensor x, Tensor lengths, RecurrentPath path)
    {
        using var scope = torch.NewDisposeScope();
        stack.zero_grad();
        var result = stack.Run(x, lengths, path: path);
        (result.Output.pow(2).sum() + result.State.Hidden.sum()).backward();
    }
}
