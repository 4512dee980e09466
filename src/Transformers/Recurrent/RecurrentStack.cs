using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Transformers.Modules;
using F = TorchSharp.torch.nn.functional;

namespace Transformers.Recurrent;

/// <summary>
/// A stack of recurrent layers, like PyTorch's <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> with <c>batch_first</c>.
/// Validated by <see cref="Validate"/> when a <see cref="RecurrentStack"/> is built.
/// </summary>
/// <param name="Cell">Which cell runs at every step.</param>
/// <param name="InputSize">Features of each input position x_t.</param>
/// <param name="HiddenSize">Features of the hidden state h_t (per direction).</param>
/// <param name="NumLayers">Stacked layers; layer l+1 reads layer l's outputs. 1 by default.</param>
/// <param name="Bidirectional">Run a second, backward layer at every level and concatenate [forward, backward]. Off by default.</param>
/// <param name="Dropout">Dropout on each layer's output except the last (training only), as in PyTorch. 0 by default.</param>
public sealed record RecurrentConfig(
    RecurrentCellKind Cell,
    int InputSize,
    int HiddenSize,
    int NumLayers = 1,
    bool Bidirectional = false,
    double Dropout = 0.0)
{
    /// <summary>A test-sized stack: input 3, hidden 4, two bidirectional layers.</summary>
    public static RecurrentConfig Tiny(RecurrentCellKind cell) => new(cell, InputSize: 3, HiddenSize: 4, NumLayers: 2, Bidirectional: true);

    /// <summary>1, or 2 when bidirectional.</summary>
    public int NumDirections => Bidirectional ? 2 : 1;

    /// <summary>Features of every output position: NumDirections * HiddenSize.</summary>
    public int OutputSize => NumDirections * HiddenSize;

    /// <summary>Throws if a size or probability is out of range; returns this.</summary>
    public RecurrentConfig Validate()
    {
        if (!Enum.IsDefined(Cell))
            throw new ArgumentOutOfRangeException(nameof(Cell), Cell, "unknown cell kind");
        if (InputSize < 1)
            throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize, "InputSize must be at least 1");
        if (HiddenSize < 1)
            throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "HiddenSize must be at least 1");
        if (NumLayers < 1)
            throw new ArgumentOutOfRangeException(nameof(NumLayers), NumLayers, "NumLayers must be at least 1");
        if (!(Dropout >= 0.0 && Dropout < 1.0))
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1)");
        return this;
    }
}

/// <summary>Direction of a layer over time.</summary>
public enum Direction
{
    /// <summary>t = 0, 1, ..., length - 1.</summary>
    Forward,
    /// <summary>t = length - 1, ..., 0: starts at each sequence's own last real token.</summary>
    Backward,
}

/// <summary>Which implementation a <see cref="RecurrentStack"/> runs.</summary>
public enum RecurrentPath
{
    /// <summary>
    /// The faster route for the call, the default: <see cref="Loop"/> for an LSTM while gradients are recorded, else
    /// <see cref="Fused"/> (experiments/results/speed/lstm-backward.md).
    /// </summary>
    Auto,
    /// <summary>TorchSharp's native nn.LSTM/nn.GRU/nn.RNN (packed when lengths are given, and an LSTM's batch always).</summary>
    Fused,
    /// <summary>
    /// Our own loop over time, with every position's input product W_ih x_t taken before it in one matrix product;
    /// padded positions keep the state. Each layer and direction is one autograd node whose backward goes through time
    /// by hand and takes W_hh's gradient in one product (<see cref="LstmLayerFunction"/>, <see cref="GruLayerFunction"/>,
    /// <see cref="RnnLayerFunction"/>).
    /// </summary>
    Loop,
    /// <summary>The textbook cell equations, one time step at a time, on the same parameters.</summary>
    GateLevel,
    /// <summary><see cref="GateLevel"/>, and return every gate's activations over time in <see cref="RecurrentOutput.Trace"/>.</summary>
    GateLevelTraced,
}

/// <summary>
/// The gate activations of one layer and direction over time: gate -> <c>[batch, seq, hidden]</c>, indexed by the
/// input position t (also for the backward direction), zero at padded positions, detached from autograd.
/// </summary>
public sealed record DirectionTrace(int Layer, Direction Direction, IReadOnlyDictionary<Gate, Tensor> Gates);

/// <summary>Every layer's and direction's gate activations, layer-major (layer 0 forward, layer 0 backward, layer 1 ...).</summary>
public sealed record RecurrentTrace(IReadOnlyList<DirectionTrace> Directions)
{
    /// <summary>The trace of one layer and direction.</summary>
    public DirectionTrace this[int layer, Direction direction] =>
        Directions.Single(d => d.Layer == layer && d.Direction == direction);
}

/// <summary>
/// What a <see cref="RecurrentStack"/> computed. Output: <c>[batch, seq, numDirections * hidden]</c>, the last layer's
/// hidden states ([forward, backward] concatenated), zero at padded positions. State: <c>[numLayers * numDirections,
/// batch, hidden]</c>, each sequence's state after its last real token (for the backward direction: after t = 0).
/// Trace: only for <see cref="RecurrentPath.GateLevelTraced"/>.
/// </summary>
public sealed record RecurrentOutput(Tensor Output, RecurrentState State, RecurrentTrace? Trace = null)
{
    /// <summary>Moves every tensor out of the current dispose scope; returns this.</summary>
    public RecurrentOutput MoveToOuterDisposeScope()
    {
        Output.MoveToOuterDisposeScope();
        State.MoveToOuterDisposeScope();
        foreach (var gate in Trace?.Directions.SelectMany(d => d.Gates.Values) ?? [])
            gate.MoveToOuterDisposeScope();
        return this;
    }
}

/// <summary>One decoding step of a unidirectional stack: Output <c>[batch, hidden]</c> (the top layer's h_t) and the new state.</summary>
public sealed record RecurrentStepOutput(Tensor Output, RecurrentState State);

/// <summary>
/// Runs an RNN, LSTM or GRU cell over time: <see cref="RecurrentConfig.NumLayers"/> stacked layers, dropout between them,
/// optionally bidirectional, batch-first, padding-aware through per-sequence lengths.
/// <para>
/// The parameters live in TorchSharp's fused <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> (state-dict keys
/// <c>fused.weight_ih_l{k}[_reverse]</c>, <c>fused.weight_hh_l{k}</c>, <c>fused.bias_ih_l{k}</c>, <c>fused.bias_hh_l{k}</c>,
/// PyTorch's layout). Three routes compute the same outputs, states and gradients from them:
/// <see cref="RecurrentPath.Fused"/> calls that module, packing the batch with <c>pack_padded_sequence</c> when lengths
/// are given (and an LSTM's batch always, so that libtorch's own loop runs it, never oneDNN's kernel: see
/// <see cref="RunFused"/>); <see cref="RecurrentPath.Loop"/> runs the cell equations in our own loop after taking every
/// position's input product in one matrix product (with a hand-written backward through time);
/// <see cref="RecurrentPath.GateLevel"/> runs <see cref="RnnCell.Step"/>, <see cref="LstmCell.Step"/> or
/// <see cref="GruCell.Step"/> one step at a time, for reading and inspection. <see cref="RecurrentPath.Auto"/>, the
/// default, takes the faster of the first two for the call.
/// </para>
/// <para>
/// Padding: position t of sequence b is real when t &lt; lengths[b]. A padded position never changes the state
/// (H_t = H_{t-1}, C_t = C_{t-1}); the backward direction starts from the initial state at each sequence's own last
/// real token; outputs at padded positions are zero. A zero-length sequence is allowed: its outputs are all zero and
/// its final state is the initial state.
/// </para>
/// Equations: d2l.ai §9.4 (RNN), §10.1 (LSTM), §10.2 (GRU), §10.3 (deep), §10.4 (bidirectional); PyTorch docs of
/// nn.RNN, nn.LSTM, nn.GRU.
/// </summary>
public sealed class RecurrentStack : nn.Module<Tensor, Tensor?, RecurrentState?, RecurrentOutput>
{
    private readonly nn.Module fused;

    /// <summary>Builds a stack with PyTorch's initialisation U(-1/√hidden, 1/√hidden) (torch.manual_seed applies).</summary>
    public RecurrentStack(RecurrentConfig config) : base(nameof(RecurrentStack))
    {
        Config = config.Validate();
        fused = config.Cell switch
        {
            RecurrentCellKind.Lstm => nn.LSTM(config.InputSize, config.HiddenSize, config.NumLayers,
                bias: true, batchFirst: true, dropout: config.Dropout, bidirectional: config.Bidirectional),
            RecurrentCellKind.Gru => nn.GRU(config.InputSize, config.HiddenSize, config.NumLayers,
                bias: true, batchFirst: true, dropout: config.Dropout, bidirectional: config.Bidirectional),
            _ => nn.RNN(config.InputSize, config.HiddenSize, config.NumLayers, nn.NonLinearities.Tanh,
                bias: true, batchFirst: true, dropout: config.Dropout, bidirectional: config.Bidirectional),
        };
        RegisterComponents();
    }

    /// <summary>The validated configuration.</summary>
    public RecurrentConfig Config { get; }

    /// <summary><c>Run(input, lengths, initial)</c> on the faster route (<see cref="RecurrentPath.Auto"/>).</summary>
    public override RecurrentOutput forward(Tensor input, Tensor? lengths, RecurrentState? initial) =>
        Run(input, lengths, initial, RecurrentPath.Auto);

    /// <summary>
    /// Runs the stack over a batch of sequences.
    /// input: <c>[batch, seq, inputSize]</c>; lengths: <c>[batch]</c> integer count of real positions per sequence
    /// (0..seq; read on the host to validate and pack, as <c>pack_padded_sequence</c> needs them there: pass them on the
    /// CPU and no read from the device happens), or null when every position is real; initial:
    /// <c>[numLayers * numDirections, batch, hidden]</c> (with Cell for LSTM), or null for zeros.
    /// </summary>
    public RecurrentOutput Run(Tensor input, Tensor? lengths = null, RecurrentState? initial = null, RecurrentPath path = RecurrentPath.Auto)
    {
        // input: [batch, seq, inputSize]; lengths: [batch]; initial: [numLayers * numDirections, batch, hidden]
        using var scope = torch.NewDisposeScope();
        if (input.dim() != 3 || input.shape[2] != Config.InputSize)
            throw new ArgumentException(
                $"input must be [batch, seq, {Config.InputSize}] (InputSize {Config.InputSize}), got [{string.Join(", ", input.shape)}]", nameof(input));
        var (batch, seqLen) = (input.shape[0], input.shape[1]);
        if (batch < 1)
            throw new ArgumentException("input batch is empty (batch must be at least 1)", nameof(input));
        var hostLengths = CheckLengths(lengths, batch, seqLen);
        var h0 = initial is null ? ZeroState(batch, input) : CheckState(initial, batch);
        var result = seqLen == 0 ? Empty(input, h0) : Route(path) switch
        {
            RecurrentPath.Fused => RunFused(input, hostLengths, h0),
            RecurrentPath.Loop => RunLoop(input, hostLengths, h0),
            var gateLevel => RunGateLevel(input, hostLengths, h0, traced: gateLevel == RecurrentPath.GateLevelTraced),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The route <see cref="RecurrentPath.Auto"/> stands for now; any other path is itself.</summary>
    public RecurrentPath Route(RecurrentPath path) => path switch
    {
        RecurrentPath.Auto => Config.Cell == RecurrentCellKind.Lstm && torch.is_grad_enabled() ? RecurrentPath.Loop : RecurrentPath.Fused,
        _ when Enum.IsDefined(path) => path,
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "unknown recurrent path"),
    };

    /// <summary>
    /// One time step of a unidirectional stack, for decoding: x <c>[batch, inputSize]</c>, state
    /// <c>[numLayers, batch, hidden]</c> (null for zeros) -> the top layer's h_t <c>[batch, hidden]</c> and the new state.
    /// GRU and RNN run the fused path. The LSTM runs one <see cref="LstmCell.Step"/> per layer (what PyTorch's
    /// <c>nn.LSTMCell</c> computes): libtorch sends even a one-step sequence of <c>nn.LSTM</c> through oneDNN's LSTM
    /// primitive on the CPU, which reorders its weights at every call and so costs 3× the step at batch 1
    /// (experiments/results/speed/lstm-mkldnn.md); whole sequences are packed and take libtorch's loop (see RunFused).
    /// </summary>
    public RecurrentStepOutput Step(Tensor x, RecurrentState? state)
    {
        // x: [batch, inputSize]; state: [numLayers, batch, hidden]
        if (Config.Bidirectional)
            throw new InvalidOperationException("Step needs a unidirectional stack: a backward direction must see the whole sequence");
        if (x.dim() != 2)
            throw new ArgumentException($"x must be [batch, {Config.InputSize}], got [{string.Join(", ", x.shape)}]", nameof(x));
        using var scope = torch.NewDisposeScope();
        if (Config.Cell == RecurrentCellKind.Lstm)
        {
            if (x.shape[1] != Config.InputSize)
                throw new ArgumentException($"x must be [batch, {Config.InputSize}], got [{string.Join(", ", x.shape)}]", nameof(x));
            var (top, next) = LstmStep(x, state is null ? ZeroState(x.shape[0], x) : CheckState(state, x.shape[0]));
            return new RecurrentStepOutput(top.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
        }
        var result = Run(x.unsqueeze(1), lengths: null, state); // x: [batch, 1, inputSize]
        var output = result.Output.squeeze(1);                    // [batch, hidden]
        return new RecurrentStepOutput(output.MoveToOuterDisposeScope(), result.State.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// One LSTM step through every layer: <see cref="LstmCell.Step"/> on the fused module's parameters, dropout between
    /// layers in training, as the gate-level path.
    /// </summary>
    private (Tensor Top, RecurrentState State) LstmStep(Tensor x, RecurrentState state)
    {
        // x: [batch, inputSize]; state: [numLayers, batch, hidden] (hidden and cell)
        var parameters = FusedParameters();
        var hidden = new Tensor[Config.NumLayers];
        var cell = new Tensor[Config.NumLayers];
        var input = x;
        for (var layer = 0; layer < Config.NumLayers; layer++)
        {
            var next = LstmCell.Step(input, new RecurrentState(state.Hidden[layer], state.Cell![layer]), WeightsOf(parameters, layer, Direction.Forward)).State;
            (hidden[layer], cell[layer]) = (next.Hidden, next.Cell!);                                         // [batch, hidden]
            input = layer < Config.NumLayers - 1 && Config.Dropout > 0 ? DropoutNoise.Apply(hidden[layer], Config.Dropout, training) : hidden[layer];
        }
        return (hidden[^1], new RecurrentState(torch.stack(hidden, 0), torch.stack(cell, 0))); // [batch, hidden]; [numLayers, batch, hidden]
    }

    /// <summary>
    /// The parameters of one layer and direction in the cell layout (the fused module's tensors, not copies):
    /// copy a standalone cell in or out with <see cref="CellWeights.CopyTo"/>. The returned wrappers belong to the
    /// caller's dispose scope (disposing them leaves the parameters intact).
    /// </summary>
    public CellWeights Weights(int layer, Direction direction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Config.NumLayers);
        if (direction == Direction.Backward && !Config.Bidirectional)
            throw new ArgumentException("the stack is unidirectional: it has no backward weights", nameof(direction));
        return WeightsOf(FusedParameters(), layer, direction);
    }

    private Dictionary<string, Tensor> FusedParameters() => fused.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

    private static CellWeights WeightsOf(Dictionary<string, Tensor> parameters, int layer, Direction direction)
    {
        var suffix = $"_l{layer}{(direction == Direction.Backward ? "_reverse" : "")}";
        return new CellWeights(parameters["weight_ih" + suffix], parameters["weight_hh" + suffix],
            parameters["bias_ih" + suffix], parameters["bias_hh" + suffix]);
    }

    private RecurrentOutput RunFused(Tensor input, long[]? lengths, RecurrentState h0)
    {
        // input: [batch, seq, inputSize]; h0: [numLayers * numDirections, batch, hidden]
        // libtorch runs nn.LSTM over an unpacked batch through oneDNN (TorchRuntime.OneDnnEnabled); a packed batch takes
        // libtorch's own loop, as GRU and RNN always do. An LSTM always packs (experiments/results/speed/lstm-mkldnn.md):
        // oneDNN 3.7.1's inference kernel (without gradients) returns wrong outputs on a Zen 5 when hidden mod 32 is
        // 1..16, and its training kernel builds and caches one primitive per batch shape — a new one nearly every step of
        // token-budget batches — which grew a 3-minute `small` LSTM run to 4.3 GiB against 2.1 GiB through libtorch's loop,
        // at the same speed on a Zen 4 (experiments/results/memory-rss, eighth sitting).
        if (lengths is null && Config.Cell == RecurrentCellKind.Lstm)
            lengths = Enumerable.Repeat(input.shape[1], (int)input.shape[0]).ToArray();
        if (lengths is null)
        {
            var (output, state) = DrawsGlobalNoise ? DropoutNoise.WithGlobalGenerator(() => CallFused(input, h0)) : CallFused(input, h0);
            return new RecurrentOutput(output, state); // output: [batch, seq, numDirections * hidden]
        }
        // pack_padded_sequence rejects length 0: pack such rows with length 1, then restore zeros and h0 below.
        var packLengths = torch.tensor(lengths.Select(l => Math.Max(l, 1L)).ToArray()); // [batch], on the CPU as packing requires
        var packed = nn.utils.rnn.pack_padded_sequence(input, packLengths, batch_first: true, enforce_sorted: false);
        var (packedOutput, packedState) = DrawsGlobalNoise ? DropoutNoise.WithGlobalGenerator(() => CallFused(packed, h0)) : CallFused(packed, h0);
        var (padded, _) = nn.utils.rnn.pad_packed_sequence(packedOutput, batch_first: true, padding_value: 0.0,
            total_length: input.shape[1]); // [batch, seq, numDirections * hidden]
        if (lengths.All(l => l > 0))
            return new RecurrentOutput(padded, packedState);
        var empty = torch.tensor(lengths.Select(l => l == 0).ToArray(), device: input.device); // [batch] bool
        var outputOfEmpty = padded.masked_fill(empty.view(-1, 1, 1), 0.0);                   // [batch, seq, numDirections * hidden]
        var emptyRows = empty.view(1, -1, 1);                                                 // [1, batch, 1]
        return new RecurrentOutput(outputOfEmpty, new RecurrentState(
            torch.where(emptyRows, h0.Hidden, packedState.Hidden),
            packedState.Cell is null ? null : torch.where(emptyRows, h0.Cell!, packedState.Cell)));
    }

    /// <summary>Whether the fused module applies dropout between its layers now (it draws from libtorch's global generator).</summary>
    private bool DrawsGlobalNoise => training && Config.NumLayers > 1 && Config.Dropout > 0;

    // The native modules differ in their tuples (LSTM returns C_n too); Tensor input or PackedSequence input.
    private (Tensor Output, RecurrentState State) CallFused(Tensor input, RecurrentState h0)
    {
        switch (fused)
        {
            case LSTM lstm: { var (output, h, c) = lstm.call(input, (h0.Hidden, h0.Cell!)); return (output, new(h, c)); }
            case GRU gru: { var (output, h) = gru.call(input, h0.Hidden); return (output, new(h)); }
            default: { var (output, h) = ((RNN)fused).call(input, h0.Hidden); return (output, new(h)); }
        }
    }

    private (nn.utils.rnn.PackedSequence Output, RecurrentState State) CallFused(nn.utils.rnn.PackedSequence input, RecurrentState h0)
    {
        switch (fused)
        {
            case LSTM lstm: { var (output, h, c) = lstm.call(input, (h0.Hidden, h0.Cell!)); return (output, new(h, c)); }
            case GRU gru: { var (output, h) = gru.call(input, h0.Hidden); return (output, new(h)); }
            default: { var (output, h) = ((RNN)fused).call(input, h0.Hidden); return (output, new(h)); }
        }
    }

    private RecurrentOutput RunLoop(Tensor input, long[]? lengths, RecurrentState h0)
    {
        // input: [batch, seq, inputSize]; h0: [numLayers * numDirections, batch, hidden]
        var seqLen = input.shape[1];
        // Time-major inside the loop, so that each step's slice of the input products is contiguous. Rows are real at
        // t < lengths[b]; up to the shortest length every row is, and no step before it needs a mask.
        var allReal = lengths is null ? seqLen : lengths.Min();
        var real = allReal == seqLen ? null
            : (torch.arange(seqLen, device: input.device).unsqueeze(1)
               < torch.tensor(lengths!, device: input.device).unsqueeze(0)).unsqueeze(2); // [seq, batch, 1] bool
        var parameters = FusedParameters();
        var finalHidden = new List<Tensor>();
        var finalCell = new List<Tensor>();
        var layerInput = input.transpose(0, 1); // [seq, batch, inputSize], then [seq, batch, numDirections * hidden]
        for (var layer = 0; layer < Config.NumLayers; layer++)
        {
            var outputs = new Tensor[Config.NumDirections];
            for (var d = 0; d < Config.NumDirections; d++)
            {
                var direction = (Direction)d;
                var w = WeightsOf(parameters, layer, direction);
                var index = layer * Config.NumDirections + d;
                var state = new RecurrentState(h0.Hidden[index], h0.Cell?[index]); // [batch, hidden]
                // W_ih x_t + b_ih for every t in one product; the LSTM and RNN add b_hh here too (the GRU's b_hn sits
                // inside the reset gate's product, so it stays with W_hh).
                var projected = F.linear(layerInput, w.WeightIh,
                    Config.Cell == RecurrentCellKind.Gru ? w.BiasIh : w.BiasIh + w.BiasHh); // [seq, batch, gates * hidden]
                var reverse = direction == Direction.Backward;
                switch (Config.Cell)
                {
                    case RecurrentCellKind.Lstm:
                    {
                        var (output, hN, cN) = LstmLayerFunction.Run(projected, w.WeightHh, state.Hidden, state.Cell!, real, allReal, reverse);
                        (outputs[d], state) = (output, new RecurrentState(hN, cN)); // [seq, batch, hidden]
                        break;
                    }
                    case RecurrentCellKind.Gru:
                    {
                        var (output, hN) = GruLayerFunction.Run(projected, w.WeightHh, w.BiasHh, state.Hidden, real, allReal, reverse);
                        (outputs[d], state) = (output, new RecurrentState(hN));
                        break;
                    }
                    default:
                    {
                        var (output, hN) = RnnLayerFunction.Run(projected, w.WeightHh, state.Hidden, real, allReal, reverse);
                        (outputs[d], state) = (output, new RecurrentState(hN));
                        break;
                    }
                }
                finalHidden.Add(state.Hidden);
                if (state.Cell is not null) finalCell.Add(state.Cell);
            }
            layerInput = Config.Bidirectional ? torch.cat(outputs, 2) : outputs[0]; // [seq, batch, numDirections * hidden]
            if (layer < Config.NumLayers - 1 && Config.Dropout > 0)
                layerInput = DropoutNoise.Apply(layerInput, Config.Dropout, training);
        }
        var final = new RecurrentState(torch.stack(finalHidden, 0),                // [numLayers * numDirections, batch, hidden]
            finalCell.Count == 0 ? null : torch.stack(finalCell, 0));
        return new RecurrentOutput(layerInput.transpose(0, 1).contiguous(), final); // [batch, seq, numDirections * hidden]
    }

    private RecurrentOutput RunGateLevel(Tensor input, long[]? lengths, RecurrentState h0, bool traced)
    {
        // input: [batch, seq, inputSize]; h0: [numLayers * numDirections, batch, hidden]
        var seqLen = input.shape[1];
        var equations = RecurrentCell.Equations(Config.Cell);
        var real = lengths is null ? null
            : torch.arange(seqLen, device: input.device).unsqueeze(0)
              < torch.tensor(lengths, device: input.device).unsqueeze(1); // [batch, seq] bool: t < lengths[b]
        var finalHidden = new List<Tensor>();
        var finalCell = new List<Tensor>();
        var traces = new List<DirectionTrace>();
        var layerInput = input; // [batch, seq, inputSize], then [batch, seq, numDirections * hidden]
        for (var layer = 0; layer < Config.NumLayers; layer++)
        {
            var outputs = new Tensor[Config.NumDirections];
            for (var d = 0; d < Config.NumDirections; d++)
            {
                var direction = (Direction)d;
                var weights = Weights(layer, direction);
                var index = layer * Config.NumDirections + d;
                var state = new RecurrentState(h0.Hidden[index], h0.Cell?[index]); // [batch, hidden]
                var hidden = new Tensor[seqLen];
                var gates = new Dictionary<Gate, Tensor[]>();
                for (var step = 0; step < seqLen; step++)
                {
                    var t = direction == Direction.Forward ? step : seqLen - 1 - step;
                    var cell = equations(layerInput.select(1, t), state, weights); // x_t: [batch, in]
                    var isReal = real?.select(1, t).unsqueeze(1);                  // [batch, 1]
                    state = isReal is null ? cell.State : new RecurrentState(      // padded: H_t = H_{t-1}, C_t = C_{t-1}
                        torch.where(isReal, cell.State.Hidden, state.Hidden),
                        state.Cell is null ? null : torch.where(isReal, cell.State.Cell!, state.Cell));
                    hidden[t] = ZeroPadded(state.Hidden, isReal); // [batch, hidden]
                    if (!traced) continue;
                    foreach (var (gate, value) in cell.Gates)
                    {
                        if (!gates.TryGetValue(gate, out var overTime)) gates[gate] = overTime = new Tensor[seqLen];
                        overTime[t] = ZeroPadded(value, isReal); // [batch, hidden]
                    }
                }
                outputs[d] = torch.stack(hidden, 1); // [batch, seq, hidden]
                finalHidden.Add(state.Hidden);
                if (state.Cell is not null) finalCell.Add(state.Cell);
                if (traced)
                    traces.Add(new DirectionTrace(layer, direction,
                        gates.ToDictionary(g => g.Key, g => torch.stack(g.Value, 1).detach()))); // each [batch, seq, hidden]
            }
            layerInput = Config.Bidirectional ? torch.cat(outputs, 2) : outputs[0]; // [batch, seq, numDirections * hidden]
            if (layer < Config.NumLayers - 1 && Config.Dropout > 0)
                layerInput = DropoutNoise.Apply(layerInput, Config.Dropout, training);
        }
        var final = new RecurrentState(torch.stack(finalHidden, 0),                // [numLayers * numDirections, batch, hidden]
            finalCell.Count == 0 ? null : torch.stack(finalCell, 0));
        return new RecurrentOutput(layerInput, final, traced ? new RecurrentTrace(traces) : null);
    }

    private static Tensor ZeroPadded(Tensor value, Tensor? isReal) =>
        isReal is null ? value : value.masked_fill(isReal.logical_not(), 0.0); // [batch, hidden]

    private RecurrentOutput Empty(Tensor input, RecurrentState h0) => new(
        input.new_zeros(input.shape[0], 0, Config.OutputSize), // [batch, 0, numDirections * hidden]
        new RecurrentState(h0.Hidden.clone(), h0.Cell?.clone()));

    private RecurrentState ZeroState(long batch, Tensor like)
    {
        var zeros = () => torch.zeros(Config.NumLayers * Config.NumDirections, batch, Config.HiddenSize,
            dtype: like.dtype, device: like.device); // [numLayers * numDirections, batch, hidden]
        return new RecurrentState(zeros(), Config.Cell == RecurrentCellKind.Lstm ? zeros() : null);
    }

    private static long[]? CheckLengths(Tensor? lengths, long batch, long seqLen)
    {
        if (lengths is null) return null;
        if (lengths.dim() != 1 || lengths.shape[0] != batch)
            throw new ArgumentException($"lengths must be [batch] = [{batch}], got [{string.Join(", ", lengths.shape)}]", nameof(lengths));
        if (lengths.is_floating_point() || lengths.dtype == ScalarType.Bool)
            throw new ArgumentException($"lengths must hold integers, got {lengths.dtype}", nameof(lengths));
        var host = lengths.to(ScalarType.Int64).cpu().data<long>().ToArray();
        for (var b = 0; b < host.Length; b++)
        {
            if (host[b] < 0)
                throw new ArgumentOutOfRangeException(nameof(lengths), host[b], $"lengths[{b}] = {host[b]} is negative");
            if (host[b] > seqLen)
                throw new ArgumentOutOfRangeException(nameof(lengths), host[b], $"lengths[{b}] = {host[b]} exceeds the sequence length {seqLen}");
        }
        return host;
    }

    private RecurrentState CheckState(RecurrentState state, long batch)
    {
        long[] expected = [Config.NumLayers * Config.NumDirections, batch, Config.HiddenSize];
        var shape = $"[{string.Join(", ", expected)}] (numLayers * numDirections, batch, hidden)";
        if (!state.Hidden.shape.SequenceEqual(expected))
            throw new ArgumentException($"initial hidden state must be {shape}, got [{string.Join(", ", state.Hidden.shape)}]", nameof(state));
        if ((Config.Cell == RecurrentCellKind.Lstm) != (state.Cell is not null))
            throw new ArgumentException(Config.Cell == RecurrentCellKind.Lstm
                ? "an LSTM stack needs an initial cell state (RecurrentState.Cell)"
                : $"a {Config.Cell} stack has no cell state: RecurrentState.Cell must be null", nameof(state));
        if (state.Cell is not null && !state.Cell.shape.SequenceEqual(expected))
            throw new ArgumentException($"initial cell state must be {shape}, got [{string.Join(", ", state.Cell.shape)}]", nameof(state));
        return state;
    }
}
