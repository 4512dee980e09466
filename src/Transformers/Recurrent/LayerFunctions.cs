using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Recurrent;

/// <summary>What <see cref="LstmLayerFunction"/>, <see cref="GruLayerFunction"/> and <see cref="RnnLayerFunction"/> share.</summary>
internal static class LayerFunctions
{
    /// <summary>
    /// The state before each step, for W_hh's gradient, indexed by the step's position t: h_0 before the first step run
    /// (t = 0 forward, t = seq - 1 backward), else the state after the previous one. states: <c>[seq, batch, hidden]</c>.
    /// </summary>
    public static Tensor Previous(Tensor states, Tensor h0, bool reverse)
    {
        var seq = states.shape[0];
        return seq == 1 ? h0.unsqueeze(0)
            : reverse ? torch.cat([states.narrow(0, 1, seq - 1), h0.unsqueeze(0)], 0)
            : torch.cat([h0.unsqueeze(0), states.narrow(0, 0, seq - 1)], 0); // [seq, batch, hidden]
    }

    /// <summary>The position t of the loop's step number <paramref name="step"/> of seq (step, or seq - 1 - step in reverse).</summary>
    public static long Position(long step, long seq, bool reverse) => reverse ? seq - 1 - step : step;

    /// <summary>The position of the step run before the one at t (t - 1, or t + 1 when the loop runs in reverse).</summary>
    public static long Before(long t, bool reverse) => reverse ? t + 1 : t - 1;

    /// <summary>
    /// The state after the last step run (position seq - 1, or 0 in reverse) of <c>sequence[0..seq)</c>; initial when seq is 0.
    /// </summary>
    public static Tensor AfterLastStep(Tensor sequence, long seq, Tensor initial, bool reverse) =>
        seq == 0 ? initial : sequence[Position(seq - 1, seq, reverse)];

    /// <summary>
    /// Writes a step's new state into <c>sequence[t]</c>: state, except in the padded rows (t ≥ allReal, real[t] false),
    /// which keep the state before the step, previous. state, previous: <c>[batch, hidden]</c>.
    /// </summary>
    public static void Store(Tensor sequence, long t, Tensor state, Tensor previous, Tensor? real, long allReal) =>
        sequence[t].copy_(t >= allReal ? torch.where(real![t], state, previous) : state);

    /// <summary>Keeps the loop's options for the backward.</summary>
    public static void SaveOptions(autograd.AutogradContext ctx, long allReal, bool reverse)
    {
        ctx.save_data("allReal", allReal);
        ctx.save_data("reverse", reverse);
    }

    /// <summary>The options <see cref="SaveOptions"/> kept.</summary>
    public static (long AllReal, bool Reverse) Options(autograd.AutogradContext ctx) =>
        ((long)ctx.get_data("allReal"), (bool)ctx.get_data("reverse"));

    /// <summary>
    /// The node's one output, <c>[seq + k, batch, hidden]</c>: the outputs of the seq steps, zero at padded positions
    /// (real: <c>[seq, batch, 1]</c> bool, null when every row is real), then the final state(s). One output rather than
    /// three, so that its gradient is always defined: TorchSharp hands an unused output's undefined gradient to the
    /// backward as an empty wrapper that its dispose-scope statistics count as live for ever, and cannot build zeros for it
    /// (materialized gradients come from a tensor of the forward's dispose scope, disposed by then).
    /// </summary>
    public static Tensor ZeroPadded(Tensor states, Tensor? real)
    {
        if (real is null) return states;
        var result = states.clone();
        result.narrow(0, 0, real.shape[0]).masked_fill_(real.logical_not(), 0.0);
        return result;
    }

    /// <summary>
    /// Splits the gradient reaching a state at step t (dState, plus the step's output gradient dOutput, if any): the part
    /// that goes into the step's own computation, m ⊙ (dState + dOutput), and the part a padded row passes on unchanged to
    /// the state before the step, (1 − m) ⊙ dState — null while every row is real (t &lt; allReal).
    /// </summary>
    public static (Tensor Step, Tensor? PassedOn) AtStep(Tensor dState, Tensor? dOutput, Tensor? real, long t, long allReal)
    {
        var total = dOutput is null ? dState : dState + dOutput;
        if (real is null || t < allReal) return (total, null);
        var isReal = real[t]; // [batch, 1]
        return (total.masked_fill(isReal.logical_not(), 0.0), dState.masked_fill(isReal, 0.0));
    }
}
