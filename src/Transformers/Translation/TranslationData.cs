using Transformers.Data;
using Transformers.Evaluation;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Processing;
using Transformers.Tokenizer.Training;
using Transformers.Training;

namespace Transformers.Translation;

/// <summary>How a corpus becomes training batches.</summary>
public sealed record TranslationDataOptions
{
    /// <summary>Size of the joint (French + English) cased WordPiece vocabulary trained on the train split.</summary>
    public int VocabSize { get; init; } = 16000;
    /// <summary>Batch budget in padded tokens of the longer side (see <see cref="BatchOptions.MaxTokens"/>).</summary>
    public int MaxTokensPerBatch { get; init; } = 4096;
    /// <summary>Pairs with a side longer than this many tokens, or a length ratio above <see cref="MaxRatio"/>, are not trained on.</summary>
    public int MaxTokensPerSide { get; init; } = 100;
    public double MaxRatio { get; init; } = 3.0;
    /// <summary>Use only the first N training pairs (0: all), for quick runs.</summary>
    public int TrainLimit { get; init; }
    /// <summary>Dev pairs decoded for BLEU at each evaluation (dev loss uses the whole dev split).</summary>
    public int DevBleuSentences { get; init; } = 500;
    /// <summary>Seed of the batch order (epoch e uses Seed + e).</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>
/// The translator's data: a joint cased WordPiece vocabulary (accents kept) over both sides of the train split, the
/// tokenized, length-filtered train pairs batched by token count with length bucketing (a new seeded order per epoch),
/// and the dev split. Special tokens: [PAD] pads, [CLS] starts a target (BOS), [SEP] ends source and target (EOS).
/// </summary>
public sealed class TranslationData : ITrainingData
{
    private readonly IReadOnlyList<TokenizedPair> train;
    private readonly TranslationDataOptions options;
    private readonly IReadOnlyList<TokenizedPair> devTokens;

    public WordPieceTokenizer Tokenizer { get; }
    public SpecialTokens Special { get; }
    public IReadOnlyList<SentencePair> DevPairs { get; }
    public IReadOnlyList<TranslationBatch> Dev { get; }
    public LengthFilterResult Filter { get; }
    public int TrainPairs => train.Count;
    /// <summary>How the training targets space their punctuation (used to detokenize translations).</summary>
    public SpacingModel Spacing { get; }

    private TranslationData(WordPieceTokenizer tokenizer, IReadOnlyList<TokenizedPair> train, LengthFilterResult filter,
                            IReadOnlyList<SentencePair> devPairs, TranslationDataOptions options, SpacingModel spacing)
    {
        Spacing = spacing;
        Tokenizer = tokenizer;
        Special = SpecialsOf(tokenizer);
        this.train = train;
        this.options = options;
        Filter = filter;
        DevPairs = devPairs;
        // The dev split is tokenized once, each side cut at MaxTokensPerSide: the dev loss and dev BLEU read the same ids.
        var encode = tokenizer.EncodeIds();
        devTokens = TokenizedPair.FromPairs(devPairs, encode, encode).Select(Truncate).ToList();
        Dev = TokenBatcher.CreateBatches(devTokens, new BatchOptions { MaxTokens = options.MaxTokensPerBatch, Shuffle = false });
    }

    /// <summary>[PAD], [CLS] as BOS, [SEP] as EOS, [UNK].</summary>
    public static SpecialTokens SpecialsOf(WordPieceTokenizer tokenizer) =>
        new(tokenizer.PaddingId, tokenizer.ClassificationId, tokenizer.SeparatorId, tokenizer.UnknownId);

    /// <summary>The translator's tokenizer: cased, accents kept (French needs both). Checkpoints save it (<c>tokenizer_config.json</c>).</summary>
    public static WordPieceOptions TokenizerOptions => WordPieceOptions.Cased;

    /// <summary>Trains the joint cased vocabulary on both sides of <paramref name="train"/>.</summary>
    public static WordPieceTokenizer TrainTokenizer(IReadOnlyList<SentencePair> train, int vocabSize, IProgress<TrainingProgress>? progress = null)
    {
        var trainer = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = vocabSize, Tokenizer = TokenizerOptions, Progress = progress });
        var result = trainer.Train(train.Select(p => p.Source).Concat(train.Select(p => p.Target)));
        return WordPieceTokenizer.Create(result.Vocabulary, TokenizerOptions);
    }

    public static TranslationData Create(CorpusSplit split, WordPieceTokenizer tokenizer, TranslationDataOptions options)
    {
        var pairs = options.TrainLimit > 0 ? split.Train.Take(options.TrainLimit).ToList() : split.Train;
        var encode = tokenizer.EncodeIds();
        var tokenized = TokenizedPair.FromPairs(pairs, encode, encode);
        var filter = new LengthFilter(1, options.MaxTokensPerSide, options.MaxRatio).Apply(tokenized);
        var kept = filter.Kept.Select(i => tokenized[i]).ToList();
        var devPairs = split.Dev;
        return new TranslationData(tokenizer, kept, filter, devPairs, options, SpacingModel.Learn(pairs.Select(p => p.Target), tokenizer));
    }

    public IReadOnlyList<TranslationBatch> Epoch(int epoch) =>
        TokenBatcher.CreateBatches(train, new BatchOptions { MaxTokens = options.MaxTokensPerBatch, Seed = options.Seed + epoch });

    /// <summary>Padding share of an epoch's batches (both sides).</summary>
    public double PaddingFraction(int epoch) =>
        TokenBatcher.PaddingFraction(TokenBatcher.CreateBatches(train, new BatchOptions { MaxTokens = options.MaxTokensPerBatch, Seed = options.Seed + epoch }));

    private TokenizedPair Truncate(TokenizedPair p) =>
        new(p.Source.Take(options.MaxTokensPerSide).ToArray(), p.Target.Take(options.MaxTokensPerSide).ToArray());

    /// <summary>Dev BLEU of <paramref name="model"/> on the first <see cref="TranslationDataOptions.DevBleuSentences"/> dev pairs (greedy).</summary>
    public double DevBleu(Seq2SeqModel model)
    {
        int n = Math.Min(options.DevBleuSentences, DevPairs.Count);
        var translator = new TextTranslator(model, Tokenizer) { Spacing = Spacing };
        var hyps = translator.Translate(devTokens.Take(n).Select(p => p.Source).ToList(), new DecodingOptions());
        return Bleu.Corpus(hyps, [DevPairs.Take(n).Select(p => p.Target).ToList()]).Score;
    }
}

/// <summary>Text in, text out: tokenization, batched decoding and detokenization around any <see cref="Seq2SeqModel"/>.</summary>
public sealed class TextTranslator(Seq2SeqModel model, WordPieceTokenizer tokenizer, int batchSentences = 64)
{
    /// <summary>Called for a sentence longer than the model accepts (index, tokens, kept): it is truncated.</summary>
    public Action<int, int, int>? Truncated { get; init; }

    /// <summary>Restores the spacing of punctuation as the training targets wrote it (null: HF's WordPiece cleanup).</summary>
    public SpacingModel? Spacing { get; init; }

    /// <summary>One translation per input sentence, in order; an empty (or whitespace) line translates to an empty line.</summary>
    public string[] Translate(IReadOnlyList<string> sentences, DecodingOptions options) => Best(TranslateNBest(sentences, options));

    /// <summary>One translation per sentence given as token ids (no special tokens), in order.</summary>
    public string[] Translate(IReadOnlyList<int[]> sources, DecodingOptions options) => Best(TranslateIds(sources, options));

    private static string[] Best(List<(string Text, double Score)>[] nBest) => nBest.Select(h => h.Count == 0 ? "" : h[0].Text).ToArray();

    /// <summary>The n-best translations of each sentence with their scores.</summary>
    public List<(string Text, double Score)>[] TranslateNBest(IReadOnlyList<string> sentences, DecodingOptions options)
    {
        var encode = tokenizer.EncodeIds();
        return TranslateIds(sentences.Select(s => encode(s)).ToList(), options);
    }

    /// <summary>
    /// The n-best translations of sentences given as token ids (no special tokens), with their scores; a sentence longer
    /// than the model takes is truncated (and reported to <see cref="Truncated"/>), an empty one translates to nothing.
    /// </summary>
    public List<(string Text, double Score)>[] TranslateIds(IReadOnlyList<int[]> sources, DecodingOptions options)
    {
        int maxSource = model.MaxLength - 1;                                                     // room for EOS
        var ids = new int[sources.Count][];
        for (int i = 0; i < sources.Count; i++)
        {
            ids[i] = sources[i];
            if (ids[i].Length <= maxSource) continue;
            Truncated?.Invoke(i, ids[i].Length, maxSource);
            ids[i] = ids[i][..maxSource];
        }
        var result = new List<(string, double)>[sources.Count];
        var order = Enumerable.Range(0, sources.Count).Where(i => ids[i].Length > 0).OrderBy(i => ids[i].Length).ToArray();
        foreach (var i in Enumerable.Range(0, sources.Count).Where(i => ids[i].Length == 0)) result[i] = [];
        foreach (var chunk in order.Chunk(batchSentences))
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var (source, mask) = TranslationBatch.OfSources(chunk.Select(i => ids[i]).ToList()).SourceTensors(model);   // on the model's device
            var hyps = Decoder.Translate(model, source, mask, options);
            for (int b = 0; b < chunk.Length; b++)
                result[chunk[b]] = hyps[b].Select(h => (Spacing is null ? tokenizer.Decode(h.Tokens, skipSpecialTokens: true) : Spacing.Decode(h.Tokens, tokenizer), h.Score)).ToList();
        }
        return result;
    }
}

internal static class TokenizerExtensions
{
    /// <summary>Token ids without [CLS]/[SEP].</summary>
    public static Func<string, int[]> EncodeIds(this WordPieceTokenizer tokenizer)
    {
        var options = new BertEncodeOptions { AddSpecialTokens = false };
        return text => tokenizer.Encode(text, null, options).Ids;
    }
}
