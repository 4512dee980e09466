using TorchSharp;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Tests.Recurrent;

/// <summary>The gate trace, the standalone cells, and parameter copies between them and the fused modules.</summary>
public class TraceAndCellTests
{
    [Theory]
    [InlineData(RecurrentCellKind.Rnn, new[] { Gate.Hidden })]
    [InlineData(RecurrentCellKind.Lstm, new[] { Gate.Input, Gate.Forget, Gate.Candidate, Gate.Output, Gate.CellState, Gate.Hidden })]
    [InlineData(RecurrentCellKind.Gru, new[] { Gate.Reset, Gate.Update, Gate.Candidate, Gate.Hidden })]
    public void TraceHasEveryGateOfEveryLayerAndDirection(RecurrentCellKind kind, Gate[] gates)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(31);
        var stack = new RecurrentStack(RecurrentConfig.Tiny(kind)); // 2 layers, bidirectional, hidden 4
        var x = torch.randn(3, 5, 3);
        var lengths = torch.tensor(new long[] { 5, 3, 1 });

        var traced = stack.Run(x, lengths, path: RecurrentPath.GateLevelTraced);

        Assert.Null(stack.Run(x, lengths).Trace);
        Assert.Null(stack.Run(x, lengths, path: RecurrentPath.GateLevel).Trace);
        var trace = Assert.IsType<RecurrentTrace>(traced.Trace);
        Assert.Equal([(0, Direction.Forward), (0, Direction.Backward), (1, Direction.Forward), (1, Direction.Backward)],
            trace.Directions.Select(d => (d.Layer, d.Direction)));
        foreach (var direction in trace.Directions)
        {
            Assert.Equal(gates.Order(), direction.Gates.Keys.Order());
            foreach (var (gate, value) in direction.Gates)
            {
                Assert.Equal([3L, 5, 4], value.shape);
                Assert.False(value.requires_grad, $"{gate} is attached to autograd");
                TensorAssert.AllZero(value[1, TensorIndex.Slice(3)], $"{gate} at padded positions");
            }
        }
        // The top layer's traced hidden states are the output: [forward, backward].
        TensorAssert.Identical(torch.cat([trace[1, Direction.Forward].Gates[Gate.Hidden], trace[1, Direction.Backward].Gates[Gate.Hidden]], 2),
            traced.Output.detach(), "top layer's traced hidden vs output");
    }

    [Fact]
    public void LstmCellStateRecomputedFromTracedGates()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(32);
        var stack = new RecurrentStack(RecurrentConfig.Tiny(RecurrentCellKind.Lstm));
        var initial = FusedVsGateLevelTests.RandomState(stack.Config, batch: 2);
        var result = stack.Run(torch.randn(2, 4, 3), initial: initial, path: RecurrentPath.GateLevelTraced);

        foreach (var (layer, direction) in new[] { (0, Direction.Forward), (1, Direction.Backward) })
        {
            var g = result.Trace![layer, direction].Gates;
            var index = layer * 2 + (int)direction;
            var C = initial.Cell![index];                                                  // C_{-1}: [batch, hidden]
            var order = direction == Direction.Forward ? new[] { 0, 1, 2, 3 } : [3, 2, 1, 0];
            foreach (var t in order)
            {
                C = g[Gate.Forget][.., t] * C + g[Gate.Input][.., t] * g[Gate.Candidate][.., t]; // C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t
                TensorAssert.Close(C, g[Gate.CellState][.., t], 1e-6, $"C_{t} of layer {layer} {direction}");
                var H = g[Gate.Output][.., t] * torch.tanh(C);                                  // H_t = O_t ⊙ tanh(C_t)
                TensorAssert.Close(H, g[Gate.Hidden][.., t], 1e-6, $"H_{t} of layer {layer} {direction}");
            }
            TensorAssert.Close(C, result.State.Cell![index], 1e-6, $"c_n of layer {layer} {direction}");
        }
    }

    [Fact]
    public void GruHiddenStateRecomputedFromTracedGates()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(33);
        var stack = new RecurrentStack(new RecurrentConfig(RecurrentCellKind.Gru, 3, 4));
        var result = stack.Run(torch.randn(2, 4, 3), path: RecurrentPath.GateLevelTraced);
        var g = result.Trace![0, Direction.Forward].Gates;
        var H = torch.zeros(2, 4); // H_{-1}
        for (var t = 0; t < 4; t++)
        {
            H = g[Gate.Update][.., t] * H + (1 - g[Gate.Update][.., t]) * g[Gate.Candidate][.., t]; // H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H̃_t
            TensorAssert.Close(H, g[Gate.Hidden][.., t], 1e-6, $"H_{t}");
        }
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void CellParametersCopyFromTheFusedModuleAndBack(RecurrentCellKind kind)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(34);
        var stack = new RecurrentStack(new RecurrentConfig(kind, InputSize: 3, HiddenSize: 4));
        RecurrentCell cell = kind switch
        {
            RecurrentCellKind.Rnn => new RnnCell(3, 4),
            RecurrentCellKind.Lstm => new LstmCell(3, 4),
            _ => new GruCell(3, 4),
        };
        var x = torch.randn(2, 5, 3);

        stack.Weights(0, Direction.Forward).CopyTo(cell.Weights); // fused -> gate-level
        TensorAssert.Close(stack.Run(x).Output, StepOverTime(cell, x), 1e-6, "cell stepped over time vs fused, after copying fused -> cell");

        using (torch.no_grad()) cell.Weights.WeightHh.mul_(-2.0);   // change the cell, then copy it back
        var before = stack.Run(x).Output;
        cell.Weights.CopyTo(stack.Weights(0, Direction.Forward)); // gate-level -> fused
        var after = stack.Run(x).Output;
        Assert.True((after - before).abs().max().item<float>() > 1e-3, "copying into the fused module changed nothing");
        TensorAssert.Close(after, StepOverTime(cell, x), 1e-6, "cell stepped over time vs fused, after copying cell -> fused");
    }

    [Theory]
    [MemberData(nameof(RecurrentCases.Kinds), MemberType = typeof(RecurrentCases))]
    public void CellsMatchTorchSharpsNativeCells(RecurrentCellKind kind)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(35);
        var x = torch.randn(3, 5);    // [batch, input]
        var h = torch.randn(3, 6);    // [batch, hidden]
        var c = torch.randn(3, 6);
        var (cell, expectedH, expectedC) = kind switch
        {
            RecurrentCellKind.Rnn => Native(nn.RNNCell(5, 6), new RnnCell(5, 6), m => (m.call(x, h), null)),
            RecurrentCellKind.Lstm => Native(nn.LSTMCell(5, 6), new LstmCell(5, 6), m => m.call(x, (h, c))),
            _ => Native(nn.GRUCell(5, 6), new GruCell(5, 6), m => (m.call(x, h), null)),
        };

        var step = cell.call(x, new RecurrentState(h, kind == RecurrentCellKind.Lstm ? c : null));

        TensorAssert.Close(expectedH, step.State.Hidden, 1e-6, "h_t");
        if (expectedC is not null) TensorAssert.Close(expectedC, step.State.Cell!, 1e-6, "c_t");
    }

    [Fact]
    public void StateDictUsesPyTorchsNamesAndLoadsANativeLstm()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(36);
        var native = nn.LSTM(3, 4, numLayers: 2, batchFirst: true, bidirectional: true);
        var stack = new RecurrentStack(new RecurrentConfig(RecurrentCellKind.Lstm, 3, 4, NumLayers: 2, Bidirectional: true));

        var names = native.state_dict().Keys.Select(k => "fused." + k).Order().ToArray();
        Assert.Equal(names, stack.state_dict().Keys.Order());
        Assert.Contains("fused.weight_hh_l1_reverse", names);
        stack.load_state_dict(native.state_dict().ToDictionary(p => "fused." + p.Key, p => p.Value));

        var x = torch.randn(2, 5, 3);
        var (expected, _, _) = native.call(x);
        TensorAssert.Close(expected, stack.Run(x, path: RecurrentPath.GateLevel).Output, 1e-5, "gate-level output vs native nn.LSTM");
    }

    private static Tensor StepOverTime(RecurrentCell cell, Tensor x)
    {
        // x: [batch, seq, input] -> [batch, seq, hidden]
        var state = cell.ZeroState(x.shape[0]);
        var hidden = new List<Tensor>();
        for (var t = 0; t < x.shape[1]; t++)
        {
            state = cell.call(x[.., t], state).State;
            hidden.Add(state.Hidden);
        }
        return torch.stack(hidden, 1);
    }

    private static (RecurrentCell, Tensor, Tensor?) Native<TNative>(TNative native, RecurrentCell cell, Func<TNative, (Tensor H, Tensor? C)> run)
        where TNative : nn.Module
    {
        var p = native.named_parameters().ToDictionary(n => n.name, n => (Tensor)n.parameter);
        new CellWeights(p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]).CopyTo(cell.Weights);
        var (h, c) = run(native);
        return (cell, h, c);
    }
}
