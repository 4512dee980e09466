using Transformers.Data;
using Transformers.Modules;
using Transformers.Tokenizer;
using static TorchSharp.torch;

namespace Transformers.Bert.Pretraining;

/// <summary>How sentences become masked-language-model batches.</summary>
public sealed record MlmDataOptions
{
    /// <summary>Longest sequence, [CLS] and [SEP] included; longer sentences are cut (≤ max_position_embeddings).</summary>
    public int MaxLength { get; init; } = 64;
    /// <summary>Tokens per batch after padding (length-bucketed: sentences of similar length share a batch).</summary>
    public int MaxTokensPerBatch { get; init; } = 4096;
    /// <summary>Share of tokens selected for prediction (Devlin et al. 2019: 0.15).</summary>
    public double MaskProbability { get; init; } = 0.15;
    /// <summary>Select whole words (a piece and the ## pieces after it) rather than single pieces (Google's whole-word masking).</summary>
    public bool WholeWordMask { get; init; }
    /// <summary>Seeds the batch order of each epoch and the masks (a new mask for every batch of every epoch: dynamic masking, RoBERTa §4.1).</summary>
    public int Seed { get; init; } = 1;

    public MlmDataOptions Validate()
    {
        if (MaxLength < 3) throw new ArgumentException($"max length {MaxLength} must be at least 3 ([CLS], one token, [SEP])");
        if (MaxTokensPerBatch < MaxLength) throw new ArgumentException($"batch tokens {MaxTokensPerBatch} must be at least the max length {MaxLength}");
        if (MaskProbability is not (> 0 and < 1)) throw new ArgumentException($"mask probability {MaskProbability} must be in (0, 1)");
        return this;
    }
}

/// <summary>A batch of sentences: ids with [CLS] and [SEP], unpadded, on the host.</summary>
public sealed record MlmSentences(IReadOnlyList<int[]> Ids)
{
    public int Longest => Ids.Max(s => s.Length);
    public long Tokens => Ids.Sum(s => (long)s.Length);
}

/// <summary>
/// A masked batch on the host: inputs and labels [batch, seq] row-major (labels -100 where nothing is predicted), the
/// attention mask, and <paramref name="Predicted"/>, the positions with a label (what the loss is computed on).
/// </summary>
public sealed record MaskedBatch(long[] Inputs, long[] Labels, long[] AttentionMask, int Batch, int Length, int Predicted)
{
    /// <summary>Inputs, attention mask and labels as [batch, seq] int64 tensors on <paramref name="device"/>.</summary>
    public (Tensor Inputs, Tensor Mask, Tensor Labels) ToTensors(Device device) =>
        (tensor(Inputs, device: device).view(Batch, Length), tensor(AttentionMask, device: device).view(Batch, Length), tensor(Labels, device: device).view(Batch, Length));
}

/// <summary>
/// The sentences of a masked-language-model run, tokenized once: training batches in a seeded order per epoch
/// (length-bucketed by token count), and BERT's masking (Devlin et al. 2019 §3.1, appendix A.1) done on the host from a
/// generator seeded by the run's seed, the epoch and the batch, so a batch's mask depends on nothing else and a resumed
/// run masks exactly as an uninterrupted one. Each selected piece becomes [MASK] 80 % of the time, a random token 10 %,
/// and stays itself 10 %; [CLS], [SEP] and [PAD] are never selected, and every batch predicts at least one token.
/// </summary>
public sealed class MlmData
{
    private readonly IReadOnlyList<int[]> train;
    private readonly bool[] continues;                   // per vocabulary id: a ## piece that continues a word
    private readonly long[] randomPool;                 // ids a random replacement is drawn from (no special token)

    public WordPieceTokenizer Tokenizer { get; }
    public MlmDataOptions Options { get; }
    /// <summary>Held-out sentences, masked once with a fixed seed, so every evaluation scores the same predictions.</summary>
    public IReadOnlyList<MaskedBatch> HeldOut { get; }
    public int TrainSentences => train.Count;
    public long TrainTokens { get; }
    /// <summary>The most frequent piece of the training sentences ([CLS] and [SEP] aside): a unigram model's one guess.</summary>
    public int MostFrequentToken { get; }
    /// <summary>Masked-token accuracy of always guessing <see cref="MostFrequentToken"/> on the held-out predictions: what a model must beat.</summary>
    public double UnigramAccuracy { get; }

    public MlmData(IReadOnlyList<string> trainText, IReadOnlyList<string> heldOutText, WordPieceTokenizer tokenizer, MlmDataOptions options)
    {
        Options = options.Validate();
        Tokenizer = tokenizer;
        var vocabulary = tokenizer.Vocabulary;
        continues = Enumerable.Range(0, vocabulary.Count).Select(i => vocabulary[i].StartsWith(tokenizer.Options.ContinuingSubwordPrefix, StringComparison.Ordinal)).ToArray();
        var special = tokenizer.SpecialTokenIds.ToHashSet();
        randomPool = Enumerable.Range(0, vocabulary.Count).Where(i => !special.Contains(i)).Select(i => (long)i).ToArray();
        train = Encode(trainText);
        if (train.Count == 0) throw new ArgumentException("no training sentence has a token: give text with words in it");
        TrainTokens = train.Sum(s => (long)s.Length);
        var counts = new long[vocabulary.Count];
        foreach (var sentence in train)
            for (int t = 1; t < sentence.Length - 1; t++) counts[sentence[t]]++;
        MostFrequentToken = Array.IndexOf(counts, counts.Max());
        var heldOut = Encode(heldOutText);
        var heldOutBatches = Bucket(heldOut, Enumerable.Range(0, heldOut.Count));
        HeldOut = heldOutBatches.Select((b, i) => Mask(b, new Random(Seed(options.Seed, int.MaxValue, i)))).ToList();
        long predicted = HeldOut.Sum(b => (long)b.Predicted);
        long unigramHits = HeldOut.Sum(b => (long)b.Labels.Count(l => l == MostFrequentToken));
        UnigramAccuracy = predicted == 0 ? 0 : (double)unigramHits / predicted;
    }

    /// <summary>Sentences as [CLS] pieces [SEP], cut to <see cref="MlmDataOptions.MaxLength"/> (the tokenizer's truncation); empty ones dropped.</summary>
    private List<int[]> Encode(IReadOnlyList<string> texts)
    {
        var encode = new Tokenizer.Processing.BertEncodeOptions { MaxLength = Options.MaxLength };
        var result = new List<int[]>(texts.Count);
        foreach (var text in texts)
        {
            var sentence = Tokenizer.Encode(text, null, encode).Ids;
            if (sentence.Length > 2) result.Add(sentence);
        }
        return result;
    }

    /// <summary>The training batches of <paramref name="epoch"/>: a seeded shuffle, sorted by length (stable), packed to the token budget, then the batches shuffled.</summary>
    public IReadOnlyList<MlmSentences> Epoch(int epoch)
    {
        var random = new Random(Seed(Options.Seed, epoch, -1));
        var batches = Bucket(train, LengthBuckets.ShuffledByLength(train, s => s.Length, random)).ToArray();
        random.Shuffle(batches);
        return batches;
    }

    private List<MlmSentences> Bucket(IReadOnlyList<int[]> sentences, IEnumerable<int> order) =>
        LengthBuckets.Pack(sentences, order, s => s.Length, Options.MaxTokensPerBatch).Select(b => new MlmSentences(b)).ToList();

    /// <summary>Batch <paramref name="index"/> of <paramref name="epoch"/>, masked from its own seed (the same on every run and resume).</summary>
    public MaskedBatch Masked(MlmSentences batch, int epoch, int index) =>
        Mask(batch, new Random(Seed(Options.Seed, epoch, index)));

    /// <summary>BERT's 80/10/10 masking of one batch, padded to its longest sentence.</summary>
    public MaskedBatch Mask(MlmSentences batch, Random random)
    {
        int rows = batch.Ids.Count, length = batch.Longest;
        var inputs = new long[rows * length];
        var labels = new long[rows * length];
        var attention = new long[rows * length];
        Array.Fill(inputs, Tokenizer.PaddingId);
        Array.Fill(labels, BertForMaskedLM.IgnoreIndex);
        int predicted = 0;
        for (int r = 0; r < rows; r++)
        {
            var ids = batch.Ids[r];
            bool wordSelected = false;
            for (int t = 0; t < ids.Length; t++)
            {
                int at = r * length + t;
                inputs[at] = ids[t];
                attention[at] = 1;
                if (t == 0 || t == ids.Length - 1) continue;                               // [CLS], [SEP]
                bool selected = Options.WholeWordMask && continues[ids[t]] && t > 1
                    ? wordSelected                                                          // a ## piece goes with its word
                    : random.NextDouble() < Options.MaskProbability;
                wordSelected = selected;
                if (!selected) continue;
                Corrupt(inputs, labels, at, ids[t], random);
                predicted++;
            }
        }
        if (predicted == 0)                                                                 // never a batch without a loss
        {
            int r = random.Next(rows), t = 1 + random.Next(batch.Ids[r].Length - 2);
            Corrupt(inputs, labels, r * length + t, batch.Ids[r][t], random);
            predicted = 1;
        }
        return new MaskedBatch(inputs, labels, attention, rows, length, predicted);
    }

    /// <summary>A generator seed from the run's seed, an epoch and a batch (SplitMix64, as dropout's): the same in every process, unlike HashCode.</summary>
    private static int Seed(int seed, int epoch, int batch) => (int)(DropoutNoise.BatchSeed(seed, epoch, batch) & 0x7FFFFFFF);

    private void Corrupt(long[] inputs, long[] labels, int at, int id, Random random)
    {
        labels[at] = id;
        double roll = random.NextDouble();
        if (roll < 0.8) inputs[at] = Tokenizer.MaskId;
        else if (roll < 0.9) inputs[at] = randomPool[random.Next(randomPool.Length)];
    }
}
