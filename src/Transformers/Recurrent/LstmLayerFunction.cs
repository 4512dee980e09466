using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Recurrent;

/// <summary>
/// One LSTM layer in one direction over a whole sequence as a single autograd node, for training. The forward runs the
/// equations of <see cref="LstmCell"/> step by step without recording a graph and keeps every step's gates and cell
/// state; the backward goes back through time by hand and takes the gradient of W_hh for all steps in one product, as
/// cuDNN and oneDNN do, where autograd over the steps (libtorch's own loop) takes a small product per step and sums them.
/// <para>
/// Inputs: the input products of every step, P_t = W_ih x_t + b_ih + b_hh (<c>[seq, batch, 4 * hidden]</c>, taken
/// before the loop in one product, whose own backward is one product too), W_hh <c>[4 * hidden, hidden]</c>, h_0 and c_0
/// <c>[batch, hidden]</c>, and which rows are real at each step. A padded row keeps its state (H_t = H_{t-1},
/// C_t = C_{t-1}) and outputs zero, as in <see cref="RecurrentStack"/>.
/// </para>
/// Backward through time (one step, gates i, f, g, o after their activations, C̃ = tanh(C_t), m = 1 for a real row):
/// dH̃ = m (dH_t + dY_t); dC = m dC_t + dH̃ ⊙ O ⊙ (1 − C̃²);
/// dZ = [dC ⊙ G ⊙ I(1 − I), dC ⊙ C_{t-1} ⊙ F(1 − F), dC ⊙ I ⊙ (1 − G²), dH̃ ⊙ C̃ ⊙ O(1 − O)];
/// dH_{t-1} = dZ W_hh + (1 − m) dH_t; dC_{t-1} = dC ⊙ F + (1 − m) dC_t; then dP = dZ and dW_hh = Σ_t dZ_tᵀ H_{t-1}.
/// </summary>
internal sealed class LstmLayerFunction : autograd.MultiTensorFunction<LstmLayerFunction>
{
    public override string Name => nameof(LstmLayerFunction);

    /// <summary>
    /// Runs the layer. projected: <c>[seq, batch, 4 * hidden]</c>; weightHh: <c>[4 * hidden, hidden]</c>; h0, c0:
    /// <c>[batch, hidden]</c>; real: <c>[seq, batch, 1]</c> bool, or null when every row is real; steps t &lt; allReal have
    /// every row real (no masking there); reverse: run from t = seq - 1 down to 0.
    /// Returns the outputs <c>[seq, batch, hidden]</c> (zero at padded positions) and h_n, c_n <c>[batch, hidden]</c>.
    /// </summary>
    public static (Tensor Output, Tensor Hidden, Tensor Cell) Run(Tensor projected, Tensor weightHh, Tensor h0, Tensor c0,
        Tensor? real, long allReal, bool reverse)
    {
        var seq = projected.shape[0];
        var all = apply(projected, weightHh, h0, c0, real!, allReal, reverse)[0]; // [seq + 2, batch, hidden]
        return (all.narrow(0, 0, seq), all[seq], all[seq + 1]);
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (projected, weightHh, h0, c0) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        var real = vars[4] as Tensor;
        var (allReal, reverse) = ((long)vars[5], (bool)vars[6]);
        long seq = projected.shape[0], batch = projected.shape[1], hidden = weightHh.shape[1];
        var gates = torch.empty(seq, batch, 4 * hidden, dtype: projected.dtype, device: projected.device); // I, F, G, O after activation
        var cells = torch.empty(seq, batch, hidden, dtype: projected.dtype, device: projected.device);     // C_t
        var tanhCells = torch.empty_like(cells);                                                           // tanh(C_t) of the real rows
        var states = torch.empty(seq + 2, batch, hidden, dtype: projected.dtype, device: projected.device); // H_t, then h_n and c_n
        var weightT = weightHh.t();                                                                        // [hidden, 4 * hidden]
        for (var step = 0L; step < seq; step++)
        {
            using var scope = torch.NewDisposeScope();                  // this step's temporaries go now, not with the batch
            var t = LayerFunctions.Position(step, seq, reverse);
            var before = LayerFunctions.Before(t, reverse);
            var (h, c) = step == 0 ? (h0, c0) : (states[before], cells[before]); // H_{t-1}, C_{t-1}
            var z = gates[t];                                           // [batch, 4 * hidden]
            z.copy_(projected[t]).addmm_(h, weightT, beta: 1, alpha: 1); // P_t + W_hh H_{t-1}
            z.narrow(1, 0, 2 * hidden).sigmoid_();                      // I_t, F_t
            z.narrow(1, 2 * hidden, hidden).tanh_();                    // G_t (C̃ candidate)
            z.narrow(1, 3 * hidden, hidden).sigmoid_();                 // O_t
            var (i, f, g, o) = Split(z, hidden);
            var cNew = (f * c).addcmul_(i, g, value: 1);                // C_t = F_t ⊙ C_{t-1} + I_t ⊙ G_t
            var hNew = o * tanhCells[t].copy_(cNew).tanh_();            // H_t = O_t ⊙ tanh(C_t)
            LayerFunctions.Store(cells, t, cNew, c, real, allReal);
            LayerFunctions.Store(states, t, hNew, h, real, allReal);
        }
        states[seq].copy_(LayerFunctions.AfterLastStep(states, seq, h0, reverse));     // h_n
        states[seq + 1].copy_(LayerFunctions.AfterLastStep(cells, seq, c0, reverse));  // c_n
        var previous = LayerFunctions.Previous(states.narrow(0, 0, seq), h0, reverse); // [seq, batch, hidden]: H_{t-1}, for W_hh's gradient
        ctx.save_for_backward([gates, cells, tanhCells, previous, c0, weightHh, real!]);
        LayerFunctions.SaveOptions(ctx, allReal, reverse);
        return [LayerFunctions.ZeroPadded(states, real)];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradients)
    {
        using var scope = torch.NewDisposeScope(); // all but the gradients returned go when the backward ends
        var saved = ctx.get_saved_variables();
        var (gates, cells, tanhCells, previous, c0, weightHh, real) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6]);
        var (allReal, reverse) = LayerFunctions.Options(ctx);
        long seq = gates.shape[0], batch = gates.shape[1], hidden = weightHh.shape[1];
        var dOutput = gradients[0].narrow(0, 0, seq);                         // [seq, batch, hidden]
        var (dh, dc) = (gradients[0][seq].clone(), gradients[0][seq + 1].clone()); // [batch, hidden], overwritten at each step
        // Every step's activation derivatives at once: I(1 - I), F(1 - F), 1 - G², O(1 - O).
        var derivative = gates * (1 - gates);                                 // [seq, batch, 4 * hidden]
        var g2 = gates.narrow(2, 2 * hidden, hidden);
        derivative.narrow(2, 2 * hidden, hidden).copy_(1 - g2 * g2);
        var oTanhDerivative = gates.narrow(2, 3 * hidden, hidden) * (1 - tanhCells * tanhCells); // O ⊙ (1 - tanh²(C_t))
        var dP = torch.empty_like(gates);                                     // dZ of every step: [seq, batch, 4 * hidden]
        for (var step = seq - 1; step >= 0; step--)
        {
            using var stepScope = torch.NewDisposeScope();
            var t = LayerFunctions.Position(step, seq, reverse);
            var cPrevious = step == 0 ? c0 : cells[LayerFunctions.Before(t, reverse)]; // [batch, hidden]
            var (dH, keepH) = LayerFunctions.AtStep(dh, dOutput[t], real, t, allReal);
            var (dC, keepC) = LayerFunctions.AtStep(dc, null, real, t, allReal);
            var (i, f, g, o) = Split(gates[t], hidden);
            var dCell = dC.addcmul(dH, oTanhDerivative[t], value: 1);          // dC_t + dH ⊙ O ⊙ (1 - tanh²(C_t))
            var dz = dP[t];                                                    // [batch, 4 * hidden]
            var (dI, dF, dG, dO) = Split(dz, hidden);
            dI.copy_(dCell).mul_(g);
            dF.copy_(dCell).mul_(cPrevious);
            dG.copy_(dCell).mul_(i);
            dO.copy_(dH).mul_(tanhCells[t]);
            dz.mul_(derivative[t]);
            var dcBefore = dCell.mul_(f);                                      // dC_{t-1} (dCell is not read after this)
            var dhBefore = dz.mm(weightHh);                                    // dH_{t-1}: [batch, hidden]
            if (keepH is not null) { dcBefore.add_(keepC!); dhBefore.add_(keepH); } // padded rows pass dH_t, dC_t on unchanged
            dc.copy_(dcBefore);
            dh.copy_(dhBefore);
        }
        var dWeightHh = dP.view(seq * batch, 4 * hidden).t().mm(previous.reshape(seq * batch, hidden)); // [4 * hidden, hidden]
        return [dP.MoveToOuterDisposeScope(), dWeightHh.MoveToOuterDisposeScope(), dh.MoveToOuterDisposeScope(),
            dc.MoveToOuterDisposeScope(), null!, null!, null!];
    }

    private static (Tensor I, Tensor F, Tensor G, Tensor O) Split(Tensor z, long hidden) =>
        (z.narrow(1, 0, hidden), z.narrow(1, hidden, hidden), z.narrow(1, 2 * hidden, hidden), z.narrow(1, 3 * hidden, hidden));
}
