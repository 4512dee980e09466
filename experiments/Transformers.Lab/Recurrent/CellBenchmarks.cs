using BenchmarkDotNet.Attributes;
using TorchSharp;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Lab.Recurrent;

/// <summary>
/// Gate-level (textbook cell equations, one step at a time) vs fused (TorchSharp's native nn.LSTM/nn.GRU/nn.RNN)
/// on the same <see cref="RecurrentStack"/> and parameters: batch 64, seq 32, input 256, hidden 256, one unidirectional
/// layer, with and without padding (lengths 17..32), float32, CPU, torch threads fixed to <see cref="Threads"/>.
/// Forward runs under no_grad (evaluation); ForwardBackward is a training step without the optimizer.
/// Kept short on purpose (3 warm-ups, 20 iterations of one call each); one thread, because the 2 cores are shared.
/// Run: <c>dotnet run -c Release --project experiments/Transformers.Lab -- bench --filter '*Cell*'</c>.
/// </summary>
[WarmupCount(3)]
[IterationCount(20)]
[InvocationCount(1)]
[MemoryDiagnoser(displayGenColumns: false)]
[MedianColumn]
[MinColumn]
public class CellBenchmarks
{
    /// <summary>libtorch intra-op threads for every benchmark.</summary>
    public const int Threads = 1;

    private const int Batch = 64;
    private const int SeqLen = 32;
    private const int Size = 256;

    private RecurrentStack stack = null!;
    private Tensor input = null!;
    private Tensor? lengths;

    [Params(RecurrentCellKind.Rnn, RecurrentCellKind.Lstm, RecurrentCellKind.Gru)]
    public RecurrentCellKind Cell { get; set; }

    [Params(RecurrentPath.Fused, RecurrentPath.GateLevel)]
    public RecurrentPath Path { get; set; }

    /// <summary>True: lengths 17..32 (packed on the fused path, masked on the gate-level path); false: no lengths.</summary>
    [Params(true, false)]
    public bool Padded { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Threads);
        torch.manual_seed(1);
        stack = new RecurrentStack(new RecurrentConfig(Cell, InputSize: Size, HiddenSize: Size));
        input = torch.randn(Batch, SeqLen, Size);                                              // [batch, seq, input]
        lengths = Padded ? torch.tensor(Enumerable.Range(0, Batch).Select(b => (long)(SeqLen - b % 16)).ToArray()) : null; // 17..32
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        stack.Dispose();
        input.Dispose();
        lengths?.Dispose();
    }

    [Benchmark]
    public float Forward()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return stack.Run(input, lengths, path: Path).Output[0, 0, 0].item<float>();
    }

    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = torch.NewDisposeScope();
        stack.zero_grad();
        var result = stack.Run(input, lengths, path: Path);
        var loss = result.Output.pow(2).mean();
        loss.backward();
        return loss.item<float>();
    }
}
