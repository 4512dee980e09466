using TorchSharp;
using Transformers.Attention;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Transformers.Bert;

/// <summary>
/// BERT with its masked-language-model head (Devlin et al. 2019, §3.1 task 1): transform = LayerNorm(act(W h + b)),
/// logits = transform · Eᵀ + b_vocab, with E the word embedding table (the decoder is tied to the input embeddings).
/// </summary>
public sealed class BertForMaskedLM : nn.Module
{
    private readonly BertModel bert;
    private readonly Linear transform;
    private readonly LayerNorm transform_norm;
    private readonly Parameter decoder_bias;

    /// <summary>Label value ignored by the loss (HF's -100).</summary>
    public const long IgnoreIndex = -100;

    public BertForMaskedLM(BertConfig config) : base(nameof(BertForMaskedLM))
    {
        bert = new BertModel(config);
        transform = nn.Linear(config.HiddenSize, config.HiddenSize);
        transform_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        decoder_bias = nn.Parameter(zeros(config.VocabSize));
        RegisterComponents();
        BertInit.Apply(transform, config.InitializerRange);
    }

    public BertModel Bert => bert;
    public BertConfig Config => bert.Config;

    /// <summary>inputIds, attentionMask: [batch, seq] -> logits [batch, seq, vocab]</summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        var h = bert.Forward(inputIds, attentionMask, tokenTypeIds, headMask: headMask).LastHiddenState;   // [batch, seq, hidden]
        return Head(h).MoveToOuterDisposeScope();
    }

    /// <summary>The prediction head (HF's cls.predictions): hidden states [..., hidden] -> logits [..., vocab].</summary>
    public Tensor Head(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var t = transform_norm.forward(FeedForward.Activate(transform.forward(hidden), Config.HiddenAct));    // [..., hidden]
        var logits = matmul(t, bert.WordEmbeddings.t()) + decoder_bias;                                   // [..., vocab]
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean cross-entropy over positions whose label is not <see cref="IgnoreIndex"/>. labels: [batch, seq]. The head
    /// runs on those positions only (about 15 % of the tokens in pretraining): its vocabulary-sized product and the
    /// softmax over it are the largest part of a small model's step, and the other positions' logits would be discarded.
    /// </summary>
    public Tensor Loss(Tensor inputIds, Tensor? attentionMask, Tensor labels, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        var (logits, targets) = PredictedLogits(inputIds, attentionMask, labels, headMask);
        return nn.functional.cross_entropy(logits, targets).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The logits [predictions, vocab] of the positions whose label is not <see cref="IgnoreIndex"/> (row order), and
    /// their labels [predictions]: the head runs on those positions only. For the loss and for held-out accuracy.
    /// </summary>
    public (Tensor Logits, Tensor Targets) PredictedLogits(Tensor inputIds, Tensor? attentionMask, Tensor labels, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        var hidden = bert.Forward(inputIds, attentionMask, headMask: headMask).LastHiddenState;         // [batch, seq, hidden]
        var predicted = labels.ne(IgnoreIndex);                                                        // [batch, seq]
        var selected = hidden.masked_select(predicted.unsqueeze(-1)).view(-1, Config.HiddenSize);        // [predictions, hidden]
        return (Head(selected).MoveToOuterDisposeScope(), labels.masked_select(predicted).MoveToOuterDisposeScope());
    }
}
