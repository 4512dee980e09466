using TorchSharp;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Tests.Recurrent;

/// <summary>The fused native path and the textbook gate-level path compute the same function and the same gradients.</summary>
public class FusedVsGateLevelTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<RecurrentCellKind, int, bool> Shapes()
    {
        var data = new TheoryData<RecurrentCellKind, int, bool>();
        foreach (var kind in Enum.GetValues<RecurrentCellKind>())
        {
            data.Add(kind, 1, false);
            data.Add(kind, 3, false);
            data.Add(kind, 2, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SameOutputsStatesAndGradientsWithPadding(RecurrentCellKind kind, int numLayers, bool bidirectional)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var stack = new RecurrentStack(new RecurrentConfig(kind, InputSize: 3, HiddenSize: 4, numLayers, bidirectional));
        var x = torch.randn(4, 5, 3);                                // [batch, seq, input]
        var lengths = torch.tensor(new long[] { 5, 2, 4, 1 });       // unsorted, one full, one of length 1
        var initial = RandomState(stack.Config, batch: 4);

        var fused = RunWithGradients(stack, x, lengths, initial, RecurrentPath.Fused);
        var gateLevel = RunWithGradients(stack, x, lengths, initial, RecurrentPath.GateLevel);

        fused.AssertSame(gateLevel);
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void SameWithoutLengthsAndWithZeroInitialState(RecurrentCellKind kind)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(8);
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
        var x = torch.randn(2, 6, 3); // [batch, seq, input]

        var fused = RunWithGradients(stack, x, lengths: null, initial: null, RecurrentPath.Fused);
        var gateLevel = RunWithGradients(stack, x, lengths: null, initial: null, RecurrentPath.GateLevel);

        fused.AssertSame(gateLevel);
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void DropoutBetweenLayersIsOffInEvalMode(RecurrentCellKind kind)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(9);
        var stack = new RecurrentStack(new RecurrentConfig(kind, 3, 4, NumLayers: 2, Bidirectional: true, Dropout: 0.5));
        stack.eval();
        var x = torch.randn(3, 4, 3); // [batch, seq, input]
        var lengths = torch.tensor(new long[] { 4, 3, 2 });
        var fused = stack.Run(x, lengths);
        var gateLevel = stack.Run(x, lengths, path: RecurrentPath.GateLevel);
        TensorAssert.Close(fused.Output, gateLevel.Output, Tolerance, "output");

        stack.train(); // dropout active: the two paths draw different masks, but each one does drop
        var trained = stack.Run(x, lengths, path: RecurrentPath.GateLevel);
        Assert.True((trained.Output - gateLevel.Output).abs().max().item<float>() > 1e-3, "dropout had no effect in training mode");
    }

    internal static RecurrentState RandomState(RecurrentConfig config, long batch)
    {
        var rows = config.NumLayers * config.NumDirections;
        return new RecurrentState(torch.randn(rows, batch, config.HiddenSize) * 0.5,             // [layers * dirs, batch, hidden]
            config.Cell == RecurrentCellKind.Lstm ? torch.randn(rows, batch, config.HiddenSize) : null);
    }

    /// <summary>Everything one run produced: outputs and the gradients of a fixed random projection of them.</summary>
    private sealed record Run(Tensor Output, RecurrentState State, Dictionary<string, Tensor> ParameterGradients,
        Tensor InputGradient, Tensor? HiddenGradient, Tensor? CellGradient)
    {
        public void AssertSame(Run other)
        {
            TensorAssert.Close(Output, other.Output, Tolerance, "output");
            TensorAssert.Close(State.Hidden, other.State.Hidden, Tolerance, "h_n");
            if (State.Cell is not null) TensorAssert.Close(State.Cell, other.State.Cell!, Tolerance, "c_n");
            Assert.Equal(ParameterGradients.Keys.Order(), other.ParameterGradients.Keys.Order());
            foreach (var (name, gradient) in ParameterGradients)
                TensorAssert.Close(gradient, other.ParameterGradients[name], Tolerance, $"d loss / d {name}");
            TensorAssert.Close(InputGradient, other.InputGradient, Tolerance, "d loss / d input");
            if (HiddenGradient is not null) TensorAssert.Close(HiddenGradient, other.HiddenGradient!, Tolerance, "d loss / d h_0");
            if (CellGradient is not null) TensorAssert.Close(CellGradient, other.CellGradient!, Tolerance, "d loss / d c_0");
        }
    }

    private static Run RunWithGradients(RecurrentStack stack, Tensor x, Tensor? lengths, RecurrentState? initial, RecurrentPath path)
    {
        stack.zero_grad();
        var input = x.detach().requires_grad_();
        var h0 = initial?.Hidden.detach().requires_grad_();
        var c0 = initial?.Cell?.detach().requires_grad_();
        var result = stack.Run(input, lengths, h0 is null ? null : new RecurrentState(h0, c0), path);

        // A loss that weighs every output and state element differently, the same for both paths.
        var generator = new Generator(seed: 11);
        var loss = (result.Output * torch.randn(result.Output.shape, generator: generator)).sum()
            + (result.State.Hidden * torch.randn(result.State.Hidden.shape, generator: generator)).sum();
        if (result.State.Cell is not null)
            loss += (result.State.Cell * torch.randn(result.State.Cell.shape, generator: generator)).sum();
        loss.backward();

        var gradients = stack.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        return new Run(result.Output.detach(), result.State, gradients, input.grad!.clone(), h0?.grad?.clone(), c0?.grad?.clone());
    }
}
