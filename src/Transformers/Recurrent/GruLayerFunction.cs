using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Recurrent;

/// <summary>
/// One GRU layer in one direction over a whole sequence as a single autograd node, for training: the GRU's counterpart of
/// <see cref="LstmLayerFunction"/> (same inputs, masking and outputs), with the equations of <see cref="GruCell"/>.
/// P_t = W_ih x_t + b_ih holds the input products only: b_hh stays with W_hh, since R_t multiplies W_hn H_{t-1} + b_hn.
/// <para>
/// Backward through time (one step; R, Z, N after their activations, A = W_hn H_{t-1} + b_hn, m = 1 for a real row):
/// dH̃ = m (dH_t + dY_t); dN = dH̃ ⊙ (1 − Z) ⊙ (1 − N²); dR = dN ⊙ A ⊙ R(1 − R); dZ = dH̃ ⊙ (H_{t-1} − N) ⊙ Z(1 − Z);
/// dP = [dR, dZ, dN]; dQ = [dR, dZ, dN ⊙ R] (the gradient of W_hh H_{t-1} + b_hh);
/// dH_{t-1} = dQ W_hh + dH̃ ⊙ Z + (1 − m) dH_t; then dW_hh = Σ_t dQ_tᵀ H_{t-1} and db_hh = Σ_t Σ_batch dQ_t.
/// </para>
/// </summary>
internal sealed class GruLayerFunction : autograd.MultiTensorFunction<GruLayerFunction>
{
    public override string Name => nameof(GruLayerFunction);

    /// <summary>
    /// Runs the layer. projected: <c>[seq, batch, 3 * hidden]</c> (W_ih x_t + b_ih); weightHh: <c>[3 * hidden, hidden]</c>;
    /// biasHh: <c>[3 * hidden]</c>; h0: <c>[batch, hidden]</c>; real, allReal, reverse as in <see cref="LstmLayerFunction.Run"/>.
    /// Returns the outputs <c>[seq, batch, hidden]</c> (zero at padded positions) and h_n <c>[batch, hidden]</c>.
    /// </summary>
    public static (Tensor Output, Tensor Hidden) Run(Tensor projected, Tensor weightHh, Tensor biasHh, Tensor h0,
        Tensor? real, long allReal, bool reverse)
    {
        var seq = projected.shape[0];
        var all = apply(projected, weightHh, biasHh, h0, real!, allReal, reverse)[0]; // [seq + 1, batch, hidden]
        return (all.narrow(0, 0, seq), all[seq]);
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (projected, weightHh, biasHh, h0) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        var real = vars[4] as Tensor;
        var (allReal, reverse) = ((long)vars[5], (bool)vars[6]);
        long seq = projected.shape[0], batch = projected.shape[1], hidden = weightHh.shape[1];
        var gates = torch.empty(seq, batch, 3 * hidden, dtype: projected.dtype, device: projected.device); // R, Z, N after activation
        var candidateProducts = torch.empty(seq, batch, hidden, dtype: projected.dtype, device: projected.device); // A = W_hn H_{t-1} + b_hn
        var states = torch.empty(seq + 1, batch, hidden, dtype: projected.dtype, device: projected.device); // H_t, then h_n
        var weightT = weightHh.t();                                                                        // [hidden, 3 * hidden]
        for (var step = 0L; step < seq; step++)
        {
            using var scope = torch.NewDisposeScope();                              // this step's temporaries go now, not with the batch
            var t = LayerFunctions.Position(step, seq, reverse);
            var h = step == 0 ? h0 : states[LayerFunctions.Before(t, reverse)]; // H_{t-1}
            var p = projected[t];                                                   // [batch, 3 * hidden]
            var q = torch.addmm(biasHh, h, weightT, beta: 1, alpha: 1);              // W_hh H_{t-1} + b_hh: [batch, 3 * hidden]
            var g = gates[t];
            var rz = g.narrow(1, 0, 2 * hidden);
            rz.copy_(p.narrow(1, 0, 2 * hidden)).add_(q.narrow(1, 0, 2 * hidden)).sigmoid_(); // R_t, Z_t
            var a = candidateProducts[t].copy_(q.narrow(1, 2 * hidden, hidden));
            var n = g.narrow(1, 2 * hidden, hidden);
            n.copy_(p.narrow(1, 2 * hidden, hidden)).addcmul_(rz.narrow(1, 0, hidden), a, value: 1).tanh_(); // N_t = tanh(P_n + R_t ⊙ A)
            var hNew = n.addcmul(rz.narrow(1, hidden, hidden), h - n, value: 1);    // H_t = N_t + Z_t ⊙ (H_{t-1} - N_t)
            LayerFunctions.Store(states, t, hNew, h, real, allReal);
        }
        states[seq].copy_(LayerFunctions.AfterLastStep(states, seq, h0, reverse)); // h_n
        var previous = LayerFunctions.Previous(states.narrow(0, 0, seq), h0, reverse); // [seq, batch, hidden]: H_{t-1}, for W_hh's gradient
        ctx.save_for_backward([gates, candidateProducts, previous, weightHh, real!]);
        LayerFunctions.SaveOptions(ctx, allReal, reverse);
        return [LayerFunctions.ZeroPadded(states, real)];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradients)
    {
        using var scope = torch.NewDisposeScope(); // all but the gradients returned go when the backward ends
        var saved = ctx.get_saved_variables();
        var (gates, candidateProducts, previous, weightHh, real) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var (allReal, reverse) = LayerFunctions.Options(ctx);
        long seq = gates.shape[0], batch = gates.shape[1], hidden = weightHh.shape[1];
        var dOutput = gradients[0].narrow(0, 0, seq);                              // [seq, batch, hidden]
        var dh = gradients[0][seq].clone();                                         // [batch, hidden], overwritten at each step
        // Every step's activation derivatives at once: R(1 - R), Z(1 - Z), 1 - N².
        var derivative = gates * (1 - gates);                                       // [seq, batch, 3 * hidden]
        var n2 = gates.narrow(2, 2 * hidden, hidden);
        derivative.narrow(2, 2 * hidden, hidden).copy_(1 - n2 * n2);
        var dP = torch.empty_like(gates);                                           // [dR, dZ, dN] of every step
        var dQ = torch.empty_like(gates);                                           // [dR, dZ, dN ⊙ R]: the gradient of W_hh H_{t-1} + b_hh
        for (var step = seq - 1; step >= 0; step--)
        {
            using var stepScope = torch.NewDisposeScope();
            var t = LayerFunctions.Position(step, seq, reverse);
            var (dH, keepH) = LayerFunctions.AtStep(dh, dOutput[t], real, t, allReal);
            var g = gates[t];
            var (r, z, n) = (g.narrow(1, 0, hidden), g.narrow(1, hidden, hidden), g.narrow(1, 2 * hidden, hidden));
            var d = derivative[t];
            var (dPt, dQt) = (dP[t], dQ[t]);                                         // [batch, 3 * hidden]
            var dN = dPt.narrow(1, 2 * hidden, hidden).copy_(dH).sub_(dH * z).mul_(d.narrow(1, 2 * hidden, hidden)); // dH̃ ⊙ (1 - Z) ⊙ (1 - N²)
            dPt.narrow(1, 0, hidden).copy_(dN).mul_(candidateProducts[t]).mul_(d.narrow(1, 0, hidden));           // dR = dN ⊙ A ⊙ R(1 - R)
            dPt.narrow(1, hidden, hidden).copy_(previous[t]).sub_(n).mul_(dH).mul_(d.narrow(1, hidden, hidden));    // dZ = dH̃ ⊙ (H_{t-1} - N) ⊙ Z(1 - Z)
            dQt.narrow(1, 0, 2 * hidden).copy_(dPt.narrow(1, 0, 2 * hidden));
            dQt.narrow(1, 2 * hidden, hidden).copy_(dN).mul_(r);
            var dhBefore = dQt.mm(weightHh).addcmul_(dH, z, value: 1);              // dH_{t-1}: [batch, hidden]
            if (keepH is not null) dhBefore.add_(keepH);                            // padded rows pass dH_t on unchanged
            dh.copy_(dhBefore);
        }
        var dQFlat = dQ.view(seq * batch, 3 * hidden);
        var dWeightHh = dQFlat.t().mm(previous.reshape(seq * batch, hidden));       // [3 * hidden, hidden]
        return [dP.MoveToOuterDisposeScope(), dWeightHh.MoveToOuterDisposeScope(), dQFlat.sum(0L).MoveToOuterDisposeScope(),
            dh.MoveToOuterDisposeScope(), null!, null!, null!];
    }
}
