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
        var t = transform_norm.forward(FeedForward.Activate(transform.forward(h), Config.HiddenAct));         // [batch, seq, hidden]
        var logits = matmul(t, bert.WordEmbeddings.t()) + decoder_bias;                                   // [batch, seq, vocab]
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Mean cross-entropy over positions whose label is not <see cref="IgnoreIndex"/>. labels: [batch, seq].</summary>
    public Tensor Loss(Tensor inputIds, Tensor? attentionMask, Tensor labels, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        var logits = Forward(inputIds, attentionMask, headMask: headMask);
        var loss = nn.functional.cross_entropy(logits.view(-1, Config.VocabSize), labels.view(-1), ignore_index: IgnoreIndex);
        return loss.MoveToOuterDisposeScope();
    }
}

/// <summary>A batch prepared for MLM: the corrupted inputs and the labels (original ids where a prediction is due, -100 elsewhere).</summary>
public sealed record MlmBatch(Tensor InputIds, Tensor Labels);

/// <summary>
/// BERT's masking (Devlin et al. 2019, §3.1 and appendix A.1): each non-special token is selected with probability
/// <c>probability</c> (0.15); a selected token becomes [MASK] 80% of the time, a random token 10%, and stays itself 10%.
/// The loss is computed on selected tokens only.
/// </summary>
public static class MlmMasking
{
    /// <summary>ids: [batch, seq] int64; special: [batch, seq] bool, true for [CLS]/[SEP]/[PAD] (never selected).</summary>
    public static MlmBatch Apply(Tensor ids, Tensor special, long maskId, long vocabSize, double probability = 0.15, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var selected = rand(ids.shape, generator: generator).lt(probability).logical_and(special.logical_not());
        var labels = ids.masked_fill(selected.logical_not(), BertForMaskedLM.IgnoreIndex);
        var roll = rand(ids.shape, generator: generator);
        var toMask = selected.logical_and(roll.lt(0.8));                                        // 80% -> [MASK]
        var toRandom = selected.logical_and(roll.ge(0.8)).logical_and(roll.lt(0.9));            // 10% -> random token
        var randomIds = randint(vocabSize, ids.shape, generator: generator, dtype: ScalarType.Int64);
        var inputs = ids.masked_fill(toMask, maskId).where(toRandom.logical_not(), randomIds);  // 10% unchanged
        return new MlmBatch(inputs.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }
}

/// <summary>Options of <see cref="MlmPretrainer"/>.</summary>
public sealed record MlmTrainingOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 100;
    /// <summary>Peak AdamW learning rate (reached after warmup, then linear decay to 0).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Steps of linear warmup.</summary>
    public int WarmupSteps { get; init; } = 10;
    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Share of tokens selected for prediction.</summary>
    public double MaskProbability { get; init; } = 0.15;
    /// <summary>Gradient clipping (global L2 norm).</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Seed of masking and initialisation order.</summary>
    public int Seed { get; init; } = 0;
}

/// <summary>A small MLM pretraining loop: AdamW, linear warmup and decay, clipping; one dispose scope per step.</summary>
public static class MlmPretrainer
{
    /// <summary>
    /// Trains on the given batches (ids [batch, seq], mask [batch, seq]) cycling through them; returns the loss of every step.
    /// [CLS]/[SEP]/[PAD] are given by <paramref name="specialIds"/>.
    /// </summary>
    public static IReadOnlyList<float> Train(BertForMaskedLM model, IReadOnlyList<(Tensor Ids, Tensor Mask)> batches,
                                             long maskId, IReadOnlySet<long> specialIds, MlmTrainingOptions options,
                                             Action<int, float>? onStep = null)
    {
        if (batches.Count == 0) throw new ArgumentException("MLM pretraining needs at least one batch");
        var generator = new Generator((ulong)options.Seed);
        var optimizer = optim.AdamW(model.parameters(), options.LearningRate, weight_decay: options.WeightDecay);
        var losses = new List<float>();
        model.train();
        for (int step = 0; step < options.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var (ids, mask) = batches[step % batches.Count];
            var special = zeros_like(ids, ScalarType.Bool);
            foreach (var s in specialIds) special = special.logical_or(ids.eq(s));
            var batch = MlmMasking.Apply(ids, special, maskId, model.Config.VocabSize, options.MaskProbability, generator);
            double lr = options.LearningRate * (step < options.WarmupSteps
                ? (step + 1.0) / options.WarmupSteps
                : Math.Max(0.0, (options.Steps - step) / (double)Math.Max(1, options.Steps - options.WarmupSteps)));
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            optimizer.zero_grad();
            var loss = model.Loss(batch.InputIds, mask, batch.Labels);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), options.MaxGradNorm);
            optimizer.step();
            float value = loss.item<float>();
            losses.Add(value);
            onStep?.Invoke(step, value);
        }
        model.eval();
        return losses;
    }
}
