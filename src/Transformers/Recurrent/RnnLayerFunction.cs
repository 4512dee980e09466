using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Recurrent;

/// <summary>
/// One Elman RNN layer (tanh) in one direction over a whole sequence as a single autograd node, for training: the RNN's
/// counterpart of <see cref="LstmLayerFunction"/> (same inputs, masking and outputs), with the equation of
/// <see cref="RnnCell"/>: H_t = tanh(P_t + W_hh H_{t-1}), P_t = W_ih x_t + b_ih + b_hh.
/// Backward through time: dA = m (dH_t + dY_t) ⊙ (1 − H_t²); dH_{t-1} = dA W_hh + (1 − m) dH_t; dP = dA;
/// dW_hh = Σ_t dA_tᵀ H_{t-1}.
/// </summary>
internal sealed class RnnLayerFunction : autograd.MultiTensorFunction<RnnLayerFunction>
{
    public override string Name => nameof(RnnLayerFunction);

    /// <summary>As <see cref="LstmLayerFunction.Run"/> without the cell state: the outputs and h_n.</summary>
    public static (Tensor Output, Tensor Hidden) Run(Tensor projected, Tensor weightHh, Tensor h0, Tensor? real, long allReal, bool reverse)
    {
        var seq = projected.shape[0];
        var all = apply(projected, weightHh, h0, real!, allReal, reverse)[0]; // [seq + 1, batch, hidden]
        return (all.narrow(0, 0, seq), all[seq]);
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (projected, weightHh, h0) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        var real = vars[3] as Tensor;
        var (allReal, reverse) = ((long)vars[4], (bool)vars[5]);
        long seq = projected.shape[0], batch = projected.shape[1], hidden = weightHh.shape[1];
        var activations = torch.empty(seq, batch, hidden, dtype: projected.dtype, device: projected.device); // tanh(...) of every row
        var states = torch.empty(seq + 1, batch, hidden, dtype: projected.dtype, device: projected.device); // H_t, then h_n
        var weightT = weightHh.t();
        for (var step = 0L; step < seq; step++)
        {
            using var scope = torch.NewDisposeScope();                              // this step's temporaries go now, not with the batch
            var t = LayerFunctions.Position(step, seq, reverse);
            var h = step == 0 ? h0 : states[LayerFunctions.Before(t, reverse)]; // H_{t-1}
            var hNew = activations[t].copy_(projected[t]).addmm_(h, weightT, beta: 1, alpha: 1).tanh_(); // tanh(P_t + W_hh H_{t-1})
            LayerFunctions.Store(states, t, hNew, h, real, allReal);
        }
        states[seq].copy_(LayerFunctions.AfterLastStep(states, seq, h0, reverse)); // h_n
        var previous = LayerFunctions.Previous(states.narrow(0, 0, seq), h0, reverse); // [seq, batch, hidden]: H_{t-1}, for W_hh's gradient
        ctx.save_for_backward([activations, previous, weightHh, real!]);
        LayerFunctions.SaveOptions(ctx, allReal, reverse);
        return [LayerFunctions.ZeroPadded(states, real)];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradients)
    {
        using var scope = torch.NewDisposeScope(); // all but the gradients returned go when the backward ends
        var saved = ctx.get_saved_variables();
        var (activations, previous, weightHh, real) = (saved[0], saved[1], saved[2], saved[3]);
        var (allReal, reverse) = LayerFunctions.Options(ctx);
        long seq = activations.shape[0], batch = activations.shape[1], hidden = weightHh.shape[1];
        var dOutput = gradients[0].narrow(0, 0, seq);                              // [seq, batch, hidden]
        var dh = gradients[0][seq].clone();                                         // [batch, hidden], overwritten at each step
        var derivative = 1 - activations * activations;                             // [seq, batch, hidden]: 1 - tanh²
        var dP = torch.empty_like(activations);                                     // dA of every step
        for (var step = seq - 1; step >= 0; step--)
        {
            using var stepScope = torch.NewDisposeScope();
            var t = LayerFunctions.Position(step, seq, reverse);
            var (dH, keepH) = LayerFunctions.AtStep(dh, dOutput[t], real, t, allReal);
            var dA = dP[t].copy_(dH).mul_(derivative[t]);                          // [batch, hidden]
            var dhBefore = dA.mm(weightHh);                                         // dH_{t-1}
            if (keepH is not null) dhBefore.add_(keepH);                            // padded rows pass dH_t on unchanged
            dh.copy_(dhBefore);
        }
        var dWeightHh = dP.view(seq * batch, hidden).t().mm(previous.reshape(seq * batch, hidden));    // [hidden, hidden]
        return [dP.MoveToOuterDisposeScope(), dWeightHh.MoveToOuterDisposeScope(), dh.MoveToOuterDisposeScope(), null!, null!, null!];
    }
}
