using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Transformers.Recurrent;

/// <summary>The recurrent cell a <see cref="RecurrentStack"/> runs over time (written by name in JSON configs).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RecurrentCellKind>))]
public enum RecurrentCellKind
{
    /// <summary>Elman RNN with tanh: one "gate", the new hidden state.</summary>
    Rnn,
    /// <summary>Long short-term memory: input, forget, output gates, candidate, cell state.</summary>
    Lstm,
    /// <summary>Gated recurrent unit: reset and update gates, candidate.</summary>
    Gru,
}

/// <summary>A named activation a cell computes at every time step (the keys of a trace).</summary>
public enum Gate
{
    /// <summary>LSTM input gate I_t.</summary>
    Input,
    /// <summary>LSTM forget gate F_t.</summary>
    Forget,
    /// <summary>LSTM output gate O_t.</summary>
    Output,
    /// <summary>Candidate: LSTM C̃_t (PyTorch's g), GRU H̃_t (PyTorch's n).</summary>
    Candidate,
    /// <summary>LSTM cell state (memory) C_t.</summary>
    CellState,
    /// <summary>GRU reset gate R_t.</summary>
    Reset,
    /// <summary>GRU update gate Z_t.</summary>
    Update,
    /// <summary>The new hidden state H_t (every cell).</summary>
    Hidden,
}

/// <summary>
/// The state carried from one time step to the next. For a cell: <c>[batch, hidden]</c>; for a
/// <see cref="RecurrentStack"/>: <c>[numLayers * numDirections, batch, hidden]</c> (PyTorch's h_n layout,
/// index <c>layer * numDirections + direction</c>). <paramref name="Cell"/> is the LSTM memory C_t, null
/// for RNN and GRU.
/// </summary>
public sealed record RecurrentState(Tensor Hidden, Tensor? Cell = null)
{
    /// <summary>Moves both tensors out of the current dispose scope; returns this.</summary>
    public RecurrentState MoveToOuterDisposeScope()
    {
        Hidden.MoveToOuterDisposeScope();
        Cell?.MoveToOuterDisposeScope();
        return this;
    }
}

/// <summary>One cell step: the new state and every gate's activation, each <c>[batch, hidden]</c>.</summary>
public sealed record CellStep(RecurrentState State, IReadOnlyDictionary<Gate, Tensor> Gates);

/// <summary>
/// A cell's parameters in PyTorch's layout (<c>nn.LSTMCell</c>, <c>nn.GRUCell</c>, <c>nn.RNNCell</c>, and
/// layer l of <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c>): the gates stacked along the rows,
/// LSTM in the order i, f, g, o and GRU in the order r, z, n.
/// WeightIh <c>[gates * hidden, input]</c>, WeightHh <c>[gates * hidden, hidden]</c>, biases <c>[gates * hidden]</c>.
/// </summary>
public sealed record CellWeights(Tensor WeightIh, Tensor WeightHh, Tensor BiasIh, Tensor BiasHh)
{
    /// <summary>Copies these values into <paramref name="target"/> in place (no autograd); shapes must match.</summary>
    public void CopyTo(CellWeights target)
    {
        using var noGrad = torch.no_grad();
        CopyOne(WeightIh, target.WeightIh, nameof(WeightIh));
        CopyOne(WeightHh, target.WeightHh, nameof(WeightHh));
        CopyOne(BiasIh, target.BiasIh, nameof(BiasIh));
        CopyOne(BiasHh, target.BiasHh, nameof(BiasHh));
    }

    private static void CopyOne(Tensor source, Tensor target, string name)
    {
        if (!source.shape.SequenceEqual(target.shape))
            throw new ArgumentException(
                $"{name}: source shape [{string.Join(", ", source.shape)}] does not match target shape [{string.Join(", ", target.shape)}]"
                + " (different cell kind or sizes?)");
        target.copy_(source);
    }
}

/// <summary>
/// A recurrent cell with its own parameters (PyTorch's <c>nn.*Cell</c> layout, initialised like PyTorch:
/// U(-1/√hidden, 1/√hidden)). <c>forward(x, state)</c> runs one time step through the textbook equations of
/// the derived class; the same equations are used by <see cref="RecurrentStack"/>'s gate-level path, applied
/// to the fused module's parameters.
/// </summary>
public abstract class RecurrentCell : nn.Module<Tensor, RecurrentState, CellStep>
{
    private readonly Parameter weight_ih;
    private readonly Parameter weight_hh;
    private readonly Parameter bias_ih;
    private readonly Parameter bias_hh;

    private protected RecurrentCell(string name, RecurrentCellKind kind, long inputSize, long hiddenSize) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        Kind = kind;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        var rows = GateCount(kind) * hiddenSize;
        var bound = 1.0 / Math.Sqrt(hiddenSize);
        weight_ih = nn.Parameter(torch.empty(rows, inputSize).uniform_(-bound, bound)); // [gates * hidden, input]
        weight_hh = nn.Parameter(torch.empty(rows, hiddenSize).uniform_(-bound, bound)); // [gates * hidden, hidden]
        bias_ih = nn.Parameter(torch.empty(rows).uniform_(-bound, bound)); // [gates * hidden]
        bias_hh = nn.Parameter(torch.empty(rows).uniform_(-bound, bound)); // [gates * hidden]
        register_parameter(nameof(weight_ih), weight_ih);
        register_parameter(nameof(weight_hh), weight_hh);
        register_parameter(nameof(bias_ih), bias_ih);
        register_parameter(nameof(bias_hh), bias_hh);
    }

    /// <summary>Which equations this cell runs.</summary>
    public RecurrentCellKind Kind { get; }

    /// <summary>Features of x_t.</summary>
    public long InputSize { get; }

    /// <summary>Features of h_t.</summary>
    public long HiddenSize { get; }

    /// <summary>The parameters themselves (not copies): copy into or out of them with <see cref="CellWeights.CopyTo"/>.</summary>
    public CellWeights Weights => new(weight_ih, weight_hh, bias_ih, bias_hh);

    /// <summary>Rows per gate block in the weight matrices: RNN 1, LSTM 4 (i, f, g, o), GRU 3 (r, z, n).</summary>
    public static int GateCount(RecurrentCellKind kind) => kind switch
    {
        RecurrentCellKind.Rnn => 1,
        RecurrentCellKind.Lstm => 4,
        RecurrentCellKind.Gru => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown cell kind"),
    };

    /// <summary>The step equations of a cell kind, as a function of input, state and weights.</summary>
    public static Func<Tensor, RecurrentState, CellWeights, CellStep> Equations(RecurrentCellKind kind) => kind switch
    {
        RecurrentCellKind.Rnn => RnnCell.Step,
        RecurrentCellKind.Lstm => LstmCell.Step,
        RecurrentCellKind.Gru => GruCell.Step,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown cell kind"),
    };

    /// <summary>A zero state for <paramref name="batch"/> sequences (with a zero cell state for LSTM).</summary>
    public RecurrentState ZeroState(long batch) => new(
        torch.zeros(batch, HiddenSize, dtype: weight_hh.dtype, device: weight_hh.device), // [batch, hidden]
        Kind == RecurrentCellKind.Lstm ? torch.zeros(batch, HiddenSize, dtype: weight_hh.dtype, device: weight_hh.device) : null);

    /// <summary>One time step. x: <c>[batch, input]</c>; state tensors: <c>[batch, hidden]</c>.</summary>
    public override CellStep forward(Tensor x, RecurrentState state)
    {
        // x: [batch, input]; state.Hidden (and state.Cell): [batch, hidden]
        if (x.dim() != 2 || x.shape[1] != InputSize)
            throw new ArgumentException($"{Kind} cell input must be [batch, {InputSize}], got [{string.Join(", ", x.shape)}]", nameof(x));
        var expected = new[] { x.shape[0], HiddenSize };
        if (!state.Hidden.shape.SequenceEqual(expected))
            throw new ArgumentException($"{Kind} cell hidden state must be [{x.shape[0]}, {HiddenSize}], got [{string.Join(", ", state.Hidden.shape)}]", nameof(state));
        if ((Kind == RecurrentCellKind.Lstm) != (state.Cell is not null))
            throw new ArgumentException(Kind == RecurrentCellKind.Lstm
                ? "LSTM cell needs a cell state (RecurrentState.Cell)" : $"{Kind} cell has no cell state; RecurrentState.Cell must be null", nameof(state));
        if (state.Cell is not null && !state.Cell.shape.SequenceEqual(expected))
            throw new ArgumentException($"LSTM cell state must be [{x.shape[0]}, {HiddenSize}], got [{string.Join(", ", state.Cell.shape)}]", nameof(state));
        using var scope = torch.NewDisposeScope();
        var step = Equations(Kind)(x, state, Weights);
        step.State.MoveToOuterDisposeScope();
        foreach (var gate in step.Gates.Values) gate.MoveToOuterDisposeScope();
        return step;
    }
}

/// <summary>
/// Elman RNN cell with tanh (d2l.ai §9.4, eq. 9.4.5; PyTorch <c>nn.RNNCell</c>):
/// H_t = tanh(W_ih x_t + b_ih + W_hh H_{t-1} + b_hh).
/// </summary>
public sealed class RnnCell(long inputSize, long hiddenSize) : RecurrentCell(nameof(RnnCell), RecurrentCellKind.Rnn, inputSize, hiddenSize)
{
    /// <summary>x: <c>[batch, input]</c>; state.Hidden: <c>[batch, hidden]</c>; weights in PyTorch's layout.</summary>
    public static CellStep Step(Tensor x, RecurrentState state, CellWeights w)
    {
        var H = torch.tanh(F.linear(x, w.WeightIh, w.BiasIh) + F.linear(state.Hidden, w.WeightHh, w.BiasHh)); // H_t = tanh(W_ih x_t + b_ih + W_hh H_{t-1} + b_hh): [batch, hidden]
        return new CellStep(new RecurrentState(H), new Dictionary<Gate, Tensor> { [Gate.Hidden] = H });
    }
}

/// <summary>
/// LSTM cell (Hochreiter &amp; Schmidhuber 1997; d2l.ai §10.1, eqs. 10.1.1-10.1.4; PyTorch <c>nn.LSTMCell</c>).
/// Gate blocks of the weights in PyTorch's order: input i, forget f, candidate g, output o.
/// </summary>
public sealed class LstmCell(long inputSize, long hiddenSize) : RecurrentCell(nameof(LstmCell), RecurrentCellKind.Lstm, inputSize, hiddenSize)
{
    /// <summary>x: <c>[batch, input]</c>; state.Hidden, state.Cell: <c>[batch, hidden]</c>; weights in PyTorch's layout.</summary>
    public static CellStep Step(Tensor x, RecurrentState state, CellWeights w)
    {
        var previousC = state.Cell ?? throw new ArgumentException("an LSTM step needs the cell state C_{t-1} (RecurrentState.Cell)", nameof(state));
        var Z = (F.linear(x, w.WeightIh, w.BiasIh) + F.linear(state.Hidden, w.WeightHh, w.BiasHh)).chunk(4, 1); // 4 x [batch, hidden]: W_i* x_t + b_i* + W_h* H_{t-1} + b_h*, * = i, f, g, o
        var I = torch.sigmoid(Z[0]);              // I_t = σ(W_ii x_t + b_ii + W_hi H_{t-1} + b_hi)   input gate
        var Fg = torch.sigmoid(Z[1]);             // F_t = σ(W_if x_t + b_if + W_hf H_{t-1} + b_hf)   forget gate
        var CTilde = torch.tanh(Z[2]);            // C̃_t = tanh(W_ig x_t + b_ig + W_hg H_{t-1} + b_hg) candidate
        var O = torch.sigmoid(Z[3]);              // O_t = σ(W_io x_t + b_io + W_ho H_{t-1} + b_ho)   output gate
        var C = Fg * previousC + I * CTilde;      // C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t                  cell state
        var H = O * torch.tanh(C);                // H_t = O_t ⊙ tanh(C_t)                               hidden state
        return new CellStep(new RecurrentState(H, C), new Dictionary<Gate, Tensor>
        {
            [Gate.Input] = I, [Gate.Forget] = Fg, [Gate.Candidate] = CTilde, [Gate.Output] = O, [Gate.CellState] = C, [Gate.Hidden] = H,
        });
    }
}

/// <summary>
/// GRU cell (Cho et al. 2014; d2l.ai §10.2, eqs. 10.2.1-10.2.4; PyTorch <c>nn.GRUCell</c>). Gate blocks in
/// PyTorch's order: reset r, update z, candidate n. As in PyTorch (and cuDNN), the reset gate multiplies
/// (W_hn H_{t-1} + b_hn), not H_{t-1} before the product as in the original paper.
/// </summary>
public sealed class GruCell(long inputSize, long hiddenSize) : RecurrentCell(nameof(GruCell), RecurrentCellKind.Gru, inputSize, hiddenSize)
{
    /// <summary>x: <c>[batch, input]</c>; state.Hidden: <c>[batch, hidden]</c>; weights in PyTorch's layout.</summary>
    public static CellStep Step(Tensor x, RecurrentState state, CellWeights w)
    {
        var X = F.linear(x, w.WeightIh, w.BiasIh).chunk(3, 1);            // 3 x [batch, hidden]: W_i* x_t + b_i*, * = r, z, n
        var Hp = F.linear(state.Hidden, w.WeightHh, w.BiasHh).chunk(3, 1); // 3 x [batch, hidden]: W_h* H_{t-1} + b_h*
        var R = torch.sigmoid(X[0] + Hp[0]);         // R_t = σ(W_ir x_t + b_ir + W_hr H_{t-1} + b_hr)        reset gate
        var Z = torch.sigmoid(X[1] + Hp[1]);         // Z_t = σ(W_iz x_t + b_iz + W_hz H_{t-1} + b_hz)        update gate
        var HTilde = torch.tanh(X[2] + R * Hp[2]);   // H̃_t = tanh(W_in x_t + b_in + R_t ⊙ (W_hn H_{t-1} + b_hn)) candidate
        var H = Z * state.Hidden + (1 - Z) * HTilde; // H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H̃_t                  hidden state
        return new CellStep(new RecurrentState(H), new Dictionary<Gate, Tensor>
        {
            [Gate.Reset] = R, [Gate.Update] = Z, [Gate.Candidate] = HTilde, [Gate.Hidden] = H,
        });
    }
}
