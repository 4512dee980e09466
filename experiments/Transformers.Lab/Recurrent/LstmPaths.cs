using System.Globalization;
using System.Text;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Transformers.Lab.Recurrent;

/// <summary>
/// Issue 15 item 3: where a recurrent step's time goes. The reference workloads' step-loop decoder (2 layers of 256,
/// input 512 = embedding + input feeding) and their encoder (2 layers of 256 over L = 32 tokens), run through each route
/// libtorch offers: the fused <c>nn.LSTM</c>/<c>nn.GRU</c> with oneDNN on (libtorch's default) and off
/// (<see cref="TorchRuntime.OneDnnEnabled"/>), the cell equations in our own code (<see cref="RecurrentPath.GateLevel"/>,
/// as PyTorch's <c>nn.LSTMCell</c> computes them) and <see cref="RecurrentStack.Step"/>; and a sequence (forward and
/// backward, or forward alone) through the native module on an unpacked batch with oneDNN on and off, against
/// <see cref="RecurrentStack"/> as the library runs it (an LSTM packs every batch since 2026-12-07: libtorch's loop, never
/// oneDNN). Every route's result is compared with the first one's.
/// <c>lstm-paths [--threads N] [--out FILE]</c>
/// </summary>
public static class LstmPaths
{
    public static int Run(int threads, string? output)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(threads);
        var stamp = MachineStamp.Take(threads);
        bool oneDnnBefore = TorchRuntime.OneDnnEnabled;
        var report = new StringBuilder();
        report.AppendLine("# A recurrent step and a recurrent sequence through libtorch's CPU routes (issue 15 item 3)").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{stamp.Cpu}, {stamp.Cores} cores, {threads} threads; {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, commit {stamp.Commit}, load {stamp.LoadAverage}; oneMKL Intel paths: {TorchRuntime.MklIntelPaths}.").AppendLine();
        report.AppendLine("| cell | what | batch | route | ms per call (median) | max abs difference to the first route |");
        report.AppendLine("|---|---|--:|---|--:|--:|");
        try
        {
            foreach (var cell in new[] { RecurrentCellKind.Lstm, RecurrentCellKind.Gru })
            {
                manual_seed(1);
                using var decoder = new RecurrentStack(new RecurrentConfig(cell, InputSize: 512, HiddenSize: 256, NumLayers: 2));
                using var encoder = new RecurrentStack(new RecurrentConfig(cell, InputSize: 256, HiddenSize: 256, NumLayers: 2));
                foreach (var batch in new[] { 1, 64 })
                {
                    var x = randn(batch, 512);
                    var state = new RecurrentState(randn(2, batch, 256), cell == RecurrentCellKind.Lstm ? randn(2, batch, 256) : null);
                    decoder.eval();
                    Tensor? first = null;
                    void Step(string route, bool oneDnn, RecurrentPath path)
                    {
                        TorchRuntime.OneDnnEnabled = oneDnn;
                        Tensor result;
                        using (no_grad()) result = decoder.Run(x.unsqueeze(1), null, state, path).Output.squeeze(1);
                        first ??= result;
                        double diff = (result - first).abs().max().item<float>();
                        var t = TimingStats.Measure(() =>
                        {
                            using var scope = NewDisposeScope();
                            using var _ = no_grad();
                            decoder.Run(x.unsqueeze(1), null, state, path);
                        }, batch == 1 ? 200 : 50, batch == 1 ? 2000 : 500);
                        report.AppendLine(CultureInfo.InvariantCulture, $"| {cell} | one decoding step (2 × 256, input 512, no gradients) | {batch} | {route} | {t.MedianMs:F4} | {diff:G2} |");
                    }
                    Step("fused path over a 1-step sequence, oneDNN on (an LSTM in eval mode packs: libtorch's loop)", true, RecurrentPath.Fused);
                    Step("fused path over a 1-step sequence, oneDNN off", false, RecurrentPath.Fused);
                    Step("the cell equations (gate level)", true, RecurrentPath.GateLevel);
                    {
                        TorchRuntime.OneDnnEnabled = true;
                        Tensor result;
                        using (no_grad()) result = decoder.Step(x, state).Output;
                        double diff = (result - first!).abs().max().item<float>();
                        var t = TimingStats.Measure(() =>
                        {
                            using var scope = NewDisposeScope();
                            using var _ = no_grad();
                            decoder.Step(x, state);
                        }, batch == 1 ? 200 : 50, batch == 1 ? 2000 : 500);
                        report.AppendLine(CultureInfo.InvariantCulture, $"| {cell} | one decoding step (2 × 256, input 512, no gradients) | {batch} | RecurrentStack.Step (as decoding runs it) | {t.MedianMs:F4} | {diff:G2} |");
                    }
                }
                {
                    var sequence = randn(64, 32, 256);
                    // The native module itself on the unpacked batch (the encoder's weights), which RecurrentStack no longer
                    // hands an LSTM: what oneDNN's kernel does, against what the library runs.
                    var (native, viaNative) = NativeModule(encoder);
                    using var nativeModule = native;
                    Func<Tensor, Tensor> viaStack = input => encoder.Run(input).Output;
                    Func<Tensor, Tensor> viaFused = input => encoder.Run(input, path: RecurrentPath.Fused).Output;
                    Func<Tensor, Tensor> viaLoop = input => encoder.Run(input, path: RecurrentPath.Loop).Output;
                    encoder.train();
                    native.train();
                    Tensor? first = null;
                    void Train(string route, bool oneDnn, Func<Tensor, Tensor> run)
                    {
                        TorchRuntime.OneDnnEnabled = oneDnn;
                        var input = sequence.detach().requires_grad_();
                        encoder.zero_grad();
                        native.zero_grad();
                        run(input).sum().backward();
                        var grad = input.grad!.clone();
                        first ??= grad;
                        double diff = (grad - first).abs().max().item<float>();
                        var t = TimingStats.Measure(() =>
                        {
                            using var scope = NewDisposeScope();
                            encoder.zero_grad();
                            native.zero_grad();
                            run(input).sum().backward();
                        }, 3, 20);
                        report.AppendLine(CultureInfo.InvariantCulture, $"| {cell} | forward + backward over 64 × 32 (2 × 256) | 64 | {route} | {t.MedianMs:F3} | {diff:G2} (input gradient) |");
                    }
                    Train("nn.LSTM/nn.GRU on the unpacked batch, oneDNN on (for an LSTM oneDNN's training kernel)", true, viaNative);
                    Train("nn.LSTM/nn.GRU on the unpacked batch, oneDNN off", false, viaNative);
                    Train("RecurrentStack's fused path (an LSTM packs: libtorch's loop)", true, viaFused);
                    Train("RecurrentStack's loop (input products first; an LSTM's backward by hand)", true, viaLoop);
                    Train("RecurrentStack, as training runs it (Auto)", true, viaStack);
                    void Forward(string route, bool oneDnn, bool trainingMode, Func<Tensor, Tensor> run)
                    {
                        TorchRuntime.OneDnnEnabled = oneDnn;
                        encoder.train(trainingMode);
                        native.train(trainingMode);
                        var t = TimingStats.Measure(() =>
                        {
                            using var scope = NewDisposeScope();
                            using var _ = trainingMode ? enable_grad() : no_grad();    // training: the graph is built, not walked back
                            run(sequence);
                        }, 3, 20);
                        report.AppendLine(CultureInfo.InvariantCulture, $"| {cell} | forward over 64 × 32 (2 × 256) | 64 | {route} | {t.MedianMs:F3} | |");
                    }
                    Forward("RecurrentStack, eval mode, no gradients (an LSTM packs: libtorch's loop)", true, false, viaStack);
                    Forward("nn.LSTM/nn.GRU on the unpacked batch, training mode with gradients, oneDNN on", true, true, viaNative);
                    Forward("nn.LSTM/nn.GRU on the unpacked batch, training mode with gradients, oneDNN off", false, true, viaNative);
                    Forward("RecurrentStack's fused path, training mode with gradients (an LSTM packs: libtorch's loop)", true, true, viaFused);
                    Forward("RecurrentStack's loop, training mode with gradients", true, true, viaLoop);
                    Forward("RecurrentStack's loop, eval mode, no gradients", true, false, viaLoop);
                }
                TranslatorShaped(cell, report);
            }
        }
        finally
        {
            TorchRuntime.OneDnnEnabled = oneDnnBefore;
        }
        Console.Write(report);
        if (output is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            File.WriteAllText(output, report.ToString());
        }
        return 0;
    }

    /// <summary>
    /// The recurrent parts of the `small` translator in training (forward and backward): its encoder, one bidirectional
    /// layer of 256 per direction over a batch of 128 sources of 16 to 32 tokens (embedding 256), and its decoder, one
    /// layer of 256 over the whole 32-token target without lengths, through the fused path and our loop.
    /// </summary>
    private static void TranslatorShaped(RecurrentCellKind cell, StringBuilder report)
    {
        manual_seed(2);
        using var encoder = new RecurrentStack(new RecurrentConfig(cell, InputSize: 256, HiddenSize: 256, Bidirectional: true));
        using var decoder = new RecurrentStack(new RecurrentConfig(cell, InputSize: 256, HiddenSize: 256));
        var sequence = randn(128, 32, 256);                                                   // [batch, seq, embedding]
        var lengths = randint(16, 33, [128], dtype: TorchSharp.torch.ScalarType.Int64);       // [batch], 16..32
        var parts = new[]
        {
            ("encoder: bidirectional 256, 128 × 16-32 tokens", encoder, (Tensor?)lengths),
            ("decoder: 256, 128 × 32 tokens, no lengths", decoder, null),
        };
        foreach (var (what, stack, stackLengths) in parts)
        {
            stack.train();
            Tensor? first = null;
            foreach (var path in new[] { RecurrentPath.Fused, RecurrentPath.Loop })
            {
                var input = sequence.detach().requires_grad_();
                void Call()
                {
                    stack.zero_grad();
                    stack.Run(input, stackLengths, null, path).Output.sum().backward();
                }
                Call();
                var grad = input.grad!.clone();
                first ??= grad;
                double diff = (grad - first).abs().max().item<float>();
                var t = TimingStats.Measure(() =>
                {
                    using var scope = NewDisposeScope();
                    input.grad?.zero_();
                    Call();
                }, 3, 15);
                report.AppendLine(CultureInfo.InvariantCulture, $"| {cell} | the small translator's {what}, forward + backward | 128 | {path} | {t.MedianMs:F3} | {diff:G2} (input gradient) |");
            }
        }
    }

    /// <summary>
    /// A native batch-first nn.LSTM or nn.GRU with the stack's configuration and a copy of its weights (the stack's
    /// state-dict keys without their "fused." prefix), and its call on an unpacked batch -> the output [batch, seq, hidden].
    /// </summary>
    private static (TorchSharp.torch.nn.Module Module, Func<Tensor, Tensor> Call) NativeModule(RecurrentStack stack)
    {
        var c = stack.Config;
        TorchSharp.torch.nn.Module module;
        Func<Tensor, Tensor> call;
        if (c.Cell == RecurrentCellKind.Lstm)
        {
            var lstm = TorchSharp.torch.nn.LSTM(c.InputSize, c.HiddenSize, c.NumLayers, batchFirst: true, bidirectional: c.Bidirectional);
            (module, call) = (lstm, x => lstm.forward(x, null).Item1);
        }
        else
        {
            var gru = TorchSharp.torch.nn.GRU(c.InputSize, c.HiddenSize, c.NumLayers, batchFirst: true, bidirectional: c.Bidirectional);
            (module, call) = (gru, x => gru.forward(x, null).Item1);
        }
        StateDicts.LoadStrict(module, stack.state_dict(), "the RecurrentStack's weights", nameOf: name => "fused." + name);
        return (module, call);
    }
}
