using TorchSharp;
using TorchSharp.Modules;
using Transformers.Bert;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>The architectures the lab compares.</summary>
public enum Architecture { Rnn, Lstm, Gru, Transformer }

public static class ArchitectureNames
{
    /// <summary>"RNN", "LSTM", "GRU", "Transformer".</summary>
    public static string Display(this Architecture architecture) =>
        architecture == Architecture.Transformer ? "Transformer" : architecture.ToString().ToUpperInvariant();
}

/// <summary>
/// A token tagger: ids <c>[batch, seq]</c> -> logits <c>[batch, seq, vocab]</c>, one prediction per position, built as
/// embedding -> encoder -> linear head. The recurrent encoders run left to right (one layer, unidirectional); the
/// Transformer encoder is a <see cref="BertModel"/> (learned positions, bidirectional attention, post-LN).
/// </summary>
public abstract class SequenceModel(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract Architecture Architecture { get; }

    /// <summary>Width of the encoder (hidden size, or dModel).</summary>
    public abstract int Width { get; }

    /// <summary>
    /// ‖∂L/∂h_t‖₂ for every position t, averaged over the batch, where L is the summed cross-entropy of the prediction
    /// at the last position against <paramref name="lastTargets"/> <c>[batch]</c>, and h_t is the encoder's state at t:
    /// the recurrent hidden state (the gradient flows back through the recurrence), or the Transformer's input state
    /// at t (the embedding output entering layer 1). Index t of the result; distance to the loss = seq - 1 - t.
    /// </summary>
    public abstract double[] StateGradientNorms(Tensor ids, Tensor lastTargets);

    /// <summary>Parameters that take part in the computation (BERT's pooler, unused here, is not counted).</summary>
    public long ParameterCount() =>
        named_parameters().Where(p => !p.name.Contains("pooler", StringComparison.Ordinal)).Sum(p => p.parameter.numel());

    /// <summary>Builds a model of <paramref name="architecture"/> with encoder width <paramref name="width"/>.</summary>
    public static SequenceModel Create(Architecture architecture, int width, int vocab, int maxLength) => architecture switch
    {
        Architecture.Transformer => new TransformerTagger(width, vocab, maxLength),
        _ => new RecurrentTagger(architecture, width, vocab),
    };

    /// <summary>
    /// The width of <paramref name="architecture"/> whose parameter count is closest to <paramref name="targetParameters"/>
    /// (counts grow with the width, so a binary search over widths suffices; Transformer widths are multiples of its heads).
    /// </summary>
    public static int WidthForParameters(Architecture architecture, long targetParameters, int vocab, int maxLength)
    {
        int step = architecture == Architecture.Transformer ? TransformerTagger.Heads : 1;
        long Count(int units)
        {
            using var model = Create(architecture, units * step, vocab, maxLength);
            return model.ParameterCount();
        }
        int lo = 1, hi = 1;
        while (Count(hi) < targetParameters) { lo = hi; hi *= 2; }
        while (hi - lo > 1)
        {
            var mid = (lo + hi) / 2;
            if (Count(mid) < targetParameters) lo = mid; else hi = mid;
        }
        return step * (Math.Abs(Count(lo) - targetParameters) <= Math.Abs(Count(hi) - targetParameters) ? lo : hi);
    }
}

/// <summary>Embedding (width = hidden) -> one-layer <see cref="RecurrentStack"/> -> linear head.</summary>
public sealed class RecurrentTagger : SequenceModel
{
    private readonly Embedding embedding;
    private readonly RecurrentStack encoder;
    private readonly Linear head;

    public RecurrentTagger(Architecture architecture, int hidden, int vocab) : base(nameof(RecurrentTagger))
    {
        Architecture = architecture;
        Cell = architecture switch
        {
            Architecture.Rnn => RecurrentCellKind.Rnn,
            Architecture.Lstm => RecurrentCellKind.Lstm,
            Architecture.Gru => RecurrentCellKind.Gru,
            _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "not a recurrent architecture"),
        };
        Width = hidden;
        embedding = nn.Embedding(vocab, hidden);
        encoder = new RecurrentStack(new RecurrentConfig(Cell, InputSize: hidden, HiddenSize: hidden));
        head = nn.Linear(hidden, vocab);
        RegisterComponents();
    }

    public override Architecture Architecture { get; }
    public override int Width { get; }
    public RecurrentCellKind Cell { get; }

    /// <summary>ids: [batch, seq] -> [batch, seq, vocab] (fused path).</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var h = encoder.Run(embedding.forward(ids)).Output; // [batch, seq, hidden]
        return head.forward(h).MoveToOuterDisposeScope();   // [batch, seq, vocab]
    }

    public override double[] StateGradientNorms(Tensor ids, Tensor lastTargets)
    {
        // ids: [batch, seq]; lastTargets: [batch]. The cell equations step by step (same parameters as the fused path), so
        // that every h_t is a node of the graph and ∂L/∂h_t is the total derivative through all later steps.
        using var scope = NewDisposeScope();
        var x = embedding.forward(ids);                                    // [batch, seq, hidden]
        var weights = encoder.Weights(0, Direction.Forward);
        var step = RecurrentCell.Equations(Cell);
        var batch = ids.shape[0];
        var state = new RecurrentState(zeros(batch, Width), Cell == RecurrentCellKind.Lstm ? zeros(batch, Width) : null);
        var hs = new List<Tensor>();
        for (long t = 0; t < ids.shape[1]; t++)
        {
            state = step(x.select(1, t), state, weights).State;           // h_t: [batch, hidden]
            hs.Add(state.Hidden);
        }
        var loss = nn.functional.cross_entropy(head.forward(hs[^1]), lastTargets, reduction: nn.Reduction.Sum);
        var grads = torch.autograd.grad([loss], hs);                      // seq x [batch, hidden]
        return grads.Select(g => (double)g.pow(2).sum(1).sqrt().mean().item<float>()).ToArray(); // mean over the batch of ‖·‖₂
    }
}

/// <summary>BERT encoder (2 layers, 2 heads, dFf = 2 dModel, no dropout) -> linear head.</summary>
public sealed class TransformerTagger : SequenceModel
{
    public const int Heads = 2;
    public const int Layers = 2;

    private readonly BertModel encoder;
    private readonly Linear head;

    public TransformerTagger(int dModel, int vocab, int maxLength) : base(nameof(TransformerTagger))
    {
        Width = dModel;
        encoder = new BertModel(new BertConfig
        {
            VocabSize = vocab, HiddenSize = dModel, NumHiddenLayers = Layers, NumAttentionHeads = Heads, IntermediateSize = 2 * dModel,
            MaxPositionEmbeddings = maxLength, TypeVocabSize = 1, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
            LayerNormEps = 1e-5,
        });
        head = nn.Linear(dModel, vocab);
        RegisterComponents();
    }

    public override Architecture Architecture => Architecture.Transformer;
    public override int Width { get; }

    /// <summary>ids: [batch, seq] -> [batch, seq, vocab].</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var h = encoder.Forward(ids).LastHiddenState;      // [batch, seq, dModel]
        return head.forward(h).MoveToOuterDisposeScope();  // [batch, seq, vocab]
    }

    public override double[] StateGradientNorms(Tensor ids, Tensor lastTargets)
    {
        using var scope = NewDisposeScope();
        var output = encoder.Forward(ids, outputs: BertOutputs.HiddenStates);
        var states = output.HiddenStates![0];                                            // [batch, seq, dModel]: embedding output
        var last = output.LastHiddenState.select(1, ids.shape[1] - 1);                   // [batch, dModel]
        var loss = nn.functional.cross_entropy(head.forward(last), lastTargets, reduction: nn.Reduction.Sum);
        var grad = torch.autograd.grad([loss], [states])[0];                            // [batch, seq, dModel]
        var norms = grad.pow(2).sum(2).sqrt().mean([0]);                                  // [seq]: mean over the batch of ‖·‖₂
        return norms.data<float>().Select(v => (double)v).ToArray();
    }
}
