using TorchSharp;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Tests.Recurrent;

/// <summary>
/// The fused native path, our loop and the textbook gate-level path compute the same function and the same gradients;
/// <see cref="RecurrentPath.Auto"/> picks the loop for an LSTM that records gradients and the fused path otherwise.
/// </summary>
public class FusedVsGateLevelTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<RecurrentCellKind, RecurrentPath, int, bool> Shapes()
    {
        var data = new TheoryData<RecurrentCellKind, RecurrentPath, int, bool>();
        foreach (var (kind, path) in RecurrentCases.KindsOnTheFastPaths().Select(row => ((RecurrentCellKind)row[0], (RecurrentPath)row[1])))
        {
            data.Add(kind, path, 1, false);
            data.Add(kind, path, 3, false);
            data.Add(kind, path, 2, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SameOutputsStatesAndGradientsWithPadding(RecurrentCellKind kind, RecurrentPath path, int numLayers, bool bidirectional)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var stack = new RecurrentStack(new RecurrentConfig(kind, InputSize: 3, HiddenSize: 4, numLayers, bidirectional));
        var x = torch.randn(4, 5, 3);                                // [batch, seq, input]
        var lengths = torch.tensor(new long[] { 5, 2, 4, 1 });       // unsorted, one full, one of length 1
        var initial = RandomState(stack.Config, batch: 4);

        var fast = RunWithGradients(stack, x, lengths, initial, path);
        var gateLevel = RunWithGradients(stack, x, lengths, initial, RecurrentPath.GateLevel);

        fast.AssertSame(gateLevel);
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.KindsOnTheFastPaths), MemberType = typeof(RecurrentCases))]
    public void SameWithoutLengthsAndWithZeroInitialState(RecurrentCellKind kind, RecurrentPath path)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(8);
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
        var x = torch.randn(2, 6, 3); // [batch, seq, input]

        var fast = RunWithGradients(stack, x, lengths: null, initial: null, path);
        var gateLevel = RunWithGradients(stack, x, lengths: null, initial: null, RecurrentPath.GateLevel);

        fast.AssertSame(gateLevel);
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.KindsOnTheFastPaths), MemberType = typeof(RecurrentCases))]
    public void SameGradientsWhenOnlyTheOutputsOrOnlyTheStatesAreUsed(RecurrentCellKind kind, RecurrentPath path)
    {
        // The loop's node returns outputs and final states as one tensor; a loss that uses only part of it (the decoder in
        // training never uses h_n, the bridge reads only the final states) must still get every gradient right.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(10);
        var stack = new RecurrentStack(new RecurrentConfig(kind, InputSize: 3, HiddenSize: 4, NumLayers: 2, Bidirectional: true));
        var x = torch.randn(3, 4, 3);                         // [batch, seq, input]
        var lengths = torch.tensor(new long[] { 4, 0, 3 });   // with an empty sequence
        foreach (var useOutput in new[] { true, false })
        {
            (Tensor Input, Dictionary<string, Tensor> Parameters) Gradients(RecurrentPath p)
            {
                stack.zero_grad();
                var input = x.detach().requires_grad_();
                var result = stack.Run(input, lengths, path: p);
                (useOutput ? result.Output.pow(2).sum() : result.State.Hidden.pow(2).sum()).backward();
                return (input.grad!.clone(), stack.named_parameters().ToDictionary(q => q.name, q => q.parameter.grad!.clone()));
            }
            var what = useOutput ? "output" : "h_n";
            var (expectedInput, expectedParameters) = Gradients(RecurrentPath.GateLevel);
            var (input, parameters) = Gradients(path);
            TensorAssert.Close(expectedInput, input, Tolerance, $"d {what} / d input");
            foreach (var (name, gradient) in expectedParameters)
                TensorAssert.Close(gradient, parameters[name], Tolerance, $"d {what} / d {name}");
        }
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void Auto_TakesTheLoopForAnLstmRecordingGradients_ElseTheFusedPath(RecurrentCellKind kind)
    {
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
        var whileRecording = kind == RecurrentCellKind.Lstm ? RecurrentPath.Loop : RecurrentPath.Fused;
        Assert.Equal(whileRecording, stack.Route(RecurrentPath.Auto));
        using (torch.no_grad())
            Assert.Equal(RecurrentPath.Fused, stack.Route(RecurrentPath.Auto));
        foreach (var path in Enum.GetValues<RecurrentPath>().Where(p => p != RecurrentPath.Auto))
            Assert.Equal(path, stack.Route(path));
        Assert.Throws<ArgumentOutOfRangeException>(() => stack.Route((RecurrentPath)42));
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
