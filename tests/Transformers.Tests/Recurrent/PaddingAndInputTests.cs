using TorchSharp;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Tests.Recurrent;

/// <summary>Padding semantics (per-sequence lengths), edge sizes, and the errors bad input gets.</summary>
public class PaddingAndInputTests
{
    [Theory]
    [MemberData(nameof(RecurrentCases.KindsOnTheComputingPaths), MemberType = typeof(RecurrentCases))]
    public void PaddedPositionsNeverChangeStateOrOutputs(RecurrentCellKind kind, RecurrentPath path)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
        var x = torch.randn(2, 5, 3);                          // [batch, seq, input]
        var lengths = torch.tensor(new long[] { 5, 2 });
        var otherPadding = x.clone();
        otherPadding[1, TensorIndex.Slice(2)] = torch.randn(3, 3) * 100; // only padded positions of sequence 1 differ

        var a = stack.Run(x, lengths, path: path);
        var b = stack.Run(otherPadding, lengths, path: path);

        TensorAssert.Identical(a.Output, b.Output, "outputs when only padding differs");
        TensorAssert.Identical(a.State.Hidden, b.State.Hidden, "h_n when only padding differs");
        if (a.State.Cell is not null) TensorAssert.Identical(a.State.Cell, b.State.Cell!, "c_n when only padding differs");
        TensorAssert.AllZero(a.Output[1, TensorIndex.Slice(2)], "outputs at padded positions");

        // The padded sequence ends in the state its two real tokens give on their own (backward direction included).
        var alone = stack.Run(x[TensorIndex.Slice(1, 2), TensorIndex.Slice(0, 2)], path: path); // [1, 2, input], no lengths
        TensorAssert.Close(alone.State.Hidden, a.State.Hidden[TensorIndex.Colon, TensorIndex.Slice(1, 2)], 1e-6, "h_n of the padded sequence");
        TensorAssert.Close(alone.Output, a.Output[TensorIndex.Slice(1, 2), TensorIndex.Slice(0, 2)], 1e-6, "outputs of the padded sequence");
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.KindsOnTheComputingPaths), MemberType = typeof(RecurrentCases))]
    public void ZeroLengthSequenceGivesZeroOutputsAndKeepsTheInitialState(RecurrentCellKind kind, RecurrentPath path)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(22);
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
        var x = torch.randn(2, 3, 3).requires_grad_(); // [batch, seq, input]
        var initial = FusedVsGateLevelTests.RandomState(stack.Config, batch: 2);

        var result = stack.Run(x, torch.tensor(new long[] { 3, 0 }), initial, path);

        TensorAssert.AllZero(result.Output[1], "outputs of the empty sequence");
        TensorAssert.Identical(initial.Hidden[TensorIndex.Colon, 1], result.State.Hidden[TensorIndex.Colon, 1], "h_n of the empty sequence vs h_0");
        if (initial.Cell is not null)
            TensorAssert.Identical(initial.Cell[TensorIndex.Colon, 1], result.State.Cell![TensorIndex.Colon, 1], "c_n of the empty sequence vs c_0");
        result.Output.sum().backward();
        TensorAssert.AllZero(x.grad![1], "gradient reaching the empty sequence's input");
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.KindsOnTheComputingPaths), MemberType = typeof(RecurrentCases))]
    public void EmptyTimeAxisReturnsTheInitialState(RecurrentCellKind kind, RecurrentPath path)
    {
        using var scope = torch.NewDisposeScope();
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
        var initial = FusedVsGateLevelTests.RandomState(stack.Config, batch: 2);

        var result = stack.Run(torch.zeros(2, 0, 3), torch.tensor(new long[] { 0, 0 }), initial, path);

        Assert.Equal([2L, 0, stack.Config.OutputSize], result.Output.shape);
        TensorAssert.Identical(initial.Hidden, result.State.Hidden, "h_n after no steps vs h_0");
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void BatchOfOneAgreesAcrossPaths(RecurrentCellKind kind)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(23);
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind));
        var x = torch.randn(1, 4, 3); // [1, seq, input]
        var lengths = torch.tensor(new long[] { 3 });
        var fused = stack.Run(x, lengths);
        var gateLevel = stack.Run(x, lengths, path: RecurrentPath.GateLevel);
        Assert.Equal([1L, 4, 8], fused.Output.shape);
        TensorAssert.Close(fused.Output, gateLevel.Output, 1e-5, "output");
        TensorAssert.Close(fused.State.Hidden, gateLevel.State.Hidden, 1e-5, "h_n");
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void SteppingOneTokenAtATimeEqualsTheWholeSequence(RecurrentCellKind kind)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(24);
        var stack = new RecurrentStack(new RecurrentConfig(kind, InputSize: 3, HiddenSize: 4, NumLayers: 2));
        var x = torch.randn(2, 5, 3); // [batch, seq, input]
        var whole = stack.Run(x);

        RecurrentState? state = null;
        for (var t = 0; t < 5; t++)
        {
            var step = stack.Step(x[TensorIndex.Colon, t], state); // x_t: [batch, input]
            TensorAssert.Close(whole.Output[TensorIndex.Colon, t], step.Output, 1e-6, $"output at t = {t}");
            state = step.State;
        }
        TensorAssert.Close(whole.State.Hidden, state!.Hidden, 1e-6, "h_n");
        if (whole.State.Cell is not null) TensorAssert.Close(whole.State.Cell, state.Cell!, 1e-6, "c_n");
    }

    [Fact]
    public void BadInputNamesTheValueAndTheLimit()
    {
        using var scope = torch.NewDisposeScope();
        var lstm = new RecurrentStack(RecurrentConfig.Tiny(RecurrentCellKind.Lstm)); // input 3, hidden 4, 2 layers, bidirectional
        var x = torch.zeros(2, 5, 3);

        var wrongSize = Assert.Throws<ArgumentException>(() => lstm.Run(torch.zeros(2, 5, 4)));
        Assert.Contains("InputSize 3", wrongSize.Message);
        Assert.Contains("[2, 5, 4]", wrongSize.Message);
        Assert.Contains("got [5, 3]", Assert.Throws<ArgumentException>(() => lstm.Run(torch.zeros(5, 3))).Message);

        var tooLong = Assert.Throws<ArgumentOutOfRangeException>(() => lstm.Run(x, torch.tensor(new long[] { 5, 6 })));
        Assert.Contains("lengths[1] = 6 exceeds the sequence length 5", tooLong.Message);
        Assert.Contains("lengths[0] = -1 is negative",
            Assert.Throws<ArgumentOutOfRangeException>(() => lstm.Run(x, torch.tensor(new long[] { -1, 2 }))).Message);
        Assert.Contains("[batch] = [2]", Assert.Throws<ArgumentException>(() => lstm.Run(x, torch.tensor(new long[] { 5 }))).Message);
        Assert.Contains("integers", Assert.Throws<ArgumentException>(() => lstm.Run(x, torch.tensor(new[] { 5f, 2f }))).Message);
        Assert.Contains("batch", Assert.Throws<ArgumentException>(() => lstm.Run(torch.zeros(0, 5, 3))).Message);

        Assert.Contains("[4, 2, 4]", Assert.Throws<ArgumentException>(
            () => lstm.Run(x, null, new RecurrentState(torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)))).Message);
        Assert.Contains("cell state", Assert.Throws<ArgumentException>(() => lstm.Run(x, null, new RecurrentState(torch.zeros(4, 2, 4)))).Message);
        var gru = new RecurrentStack(RecurrentConfig.Tiny(RecurrentCellKind.Gru));
        Assert.Contains("must be null", Assert.Throws<ArgumentException>(
            () => gru.Run(x, null, new RecurrentState(torch.zeros(4, 2, 4), torch.zeros(4, 2, 4)))).Message);

        Assert.Throws<InvalidOperationException>(() => lstm.Step(torch.zeros(2, 3), null));
        var cell = new LstmCell(3, 4);
        Assert.Contains("[batch, 3], got [2, 5]", Assert.Throws<ArgumentException>(() => cell.call(torch.zeros(2, 5), cell.ZeroState(2))).Message);
        Assert.Contains("cell state", Assert.Throws<ArgumentException>(() => cell.call(torch.zeros(2, 3), new RecurrentState(torch.zeros(2, 4)))).Message);
        Assert.Contains("[2, 4], got [2, 5]", Assert.Throws<ArgumentException>(() => cell.call(torch.zeros(2, 3), new RecurrentState(torch.zeros(2, 5), torch.zeros(2, 4)))).Message);
        var lstmWeightsIntoGru = Assert.Throws<ArgumentException>(() => lstm.Weights(0, Direction.Forward).CopyTo(gru.Weights(0, Direction.Forward)));
        Assert.Contains("[16, 3]", lstmWeightsIntoGru.Message);
        Assert.Contains("[12, 3]", lstmWeightsIntoGru.Message);
    }

    [Fact]
    public void ConfigRoundTripsThroughJsonWithTheCellByName()
    {
        var config = new RecurrentConfig(RecurrentCellKind.Gru, 3, 4, NumLayers: 2, Bidirectional: true, Dropout: 0.1);
        var json = System.Text.Json.JsonSerializer.Serialize(config);
        Assert.Contains("\"Cell\":\"Gru\"", json);
        Assert.Equal(config, System.Text.Json.JsonSerializer.Deserialize<RecurrentConfig>(json));
    }

    [Fact]
    public void LstmParametersDoNotLoadIntoAGru()
    {
        using var scope = torch.NewDisposeScope();
        var lstm = new RecurrentStack(RecurrentConfig.Tiny(RecurrentCellKind.Lstm));
        var gru = new RecurrentStack(RecurrentConfig.Tiny(RecurrentCellKind.Gru));
        // TorchSharp raises libtorch's shape error (12 vs 16 rows) without naming the key; checkpoint loaders
        // should compare the saved config's Cell first to give a clear message.
        var error = Record.Exception(() => gru.load_state_dict(lstm.state_dict()));
        Assert.IsType<System.Runtime.InteropServices.ExternalException>(error);
    }

    [Fact]
    public void ConfigIsValidatedInOnePlace()
    {
        Assert.Equal("HiddenSize", Assert.Throws<ArgumentOutOfRangeException>(
            () => new RecurrentConfig(RecurrentCellKind.Gru, 3, 0).Validate()).ParamName);
        Assert.Equal("InputSize", Assert.Throws<ArgumentOutOfRangeException>(
            () => new RecurrentConfig(RecurrentCellKind.Gru, -1, 4).Validate()).ParamName);
        Assert.Equal("NumLayers", Assert.Throws<ArgumentOutOfRangeException>(
            () => new RecurrentStack(new RecurrentConfig(RecurrentCellKind.Lstm, 3, 4, NumLayers: 0))).ParamName);
        Assert.Equal("Dropout", Assert.Throws<ArgumentOutOfRangeException>(
            () => new RecurrentConfig(RecurrentCellKind.Rnn, 3, 4, Dropout: 1.0).Validate()).ParamName);
        Assert.Equal("Cell", Assert.Throws<ArgumentOutOfRangeException>(
            () => new RecurrentConfig((RecurrentCellKind)7, 3, 4).Validate()).ParamName);
    }
}
