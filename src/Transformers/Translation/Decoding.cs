using static TorchSharp.torch;

namespace Transformers.Translation;

/// <summary>How beam scores are normalised for length when hypotheses of different lengths compete.</summary>
public enum LengthNormalization
{
    /// <summary>Raw sum of log-probabilities (favours short outputs).</summary>
    None,
    /// <summary>GNMT (Wu et al. 2016, eq. 14): log P / ((5 + |Y|) / 6)^α.</summary>
    Gnmt,
    /// <summary>Average log-probability per token: log P / |Y|.</summary>
    Average,
}

/// <summary>Options shared by greedy and beam search.</summary>
public sealed record DecodingOptions
{
    /// <summary>Beams per sentence; 1 is greedy search.</summary>
    public int BeamSize { get; init; } = 1;
    /// <summary>Length normalisation of beam scores.</summary>
    public LengthNormalization Normalization { get; init; } = LengthNormalization.Gnmt;
    /// <summary>GNMT's α (0: no normalisation; 0.6 to 1.0 typical).</summary>
    public double Alpha { get; init; } = 0.6;
    /// <summary>Maximum output length = MaxLengthRatio · source length + MaxLengthOffset (EOS not counted), capped by the model.</summary>
    public double MaxLengthRatio { get; init; } = 1.5;
    public int MaxLengthOffset { get; init; } = 10;
    /// <summary>Hypotheses returned per sentence (≤ BeamSize).</summary>
    public int NBest { get; init; } = 1;

    public DecodingOptions Validate()
    {
        if (BeamSize < 1) throw new ArgumentException($"beam size {BeamSize} must be >= 1");
        if (NBest < 1 || NBest > BeamSize) throw new ArgumentException($"n-best {NBest} must be in [1, beam size {BeamSize}]");
        if (MaxLengthRatio < 0 || MaxLengthOffset < 0) throw new ArgumentException($"max length {MaxLengthRatio}·src + {MaxLengthOffset} must not be negative");
        if (Alpha < 0) throw new ArgumentException($"length penalty α = {Alpha} must be >= 0");
        return this;
    }
}

/// <summary>One output hypothesis: token ids (no BOS, no EOS), total log-probability and the normalised score used to rank it.</summary>
public sealed record Hypothesis(int[] Tokens, double LogProbability, double Score);

/// <summary>
/// Greedy and beam search, written once against <see cref="Seq2SeqModel"/>'s seam (Encode, StartDecoding, DecodeStep),
/// batched, with the model's incremental state. One dispose scope per call; no gradients.
/// </summary>
public static class Decoder
{
    /// <summary>src: [batch, src] int64; srcMask: [batch, src] bool -> per sentence, the n-best hypotheses, best first.</summary>
    public static List<Hypothesis>[] Translate(Seq2SeqModel model, Tensor src, Tensor srcMask, DecodingOptions options)
    {
        options.Validate();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            var lengths = srcMask.sum(1).cpu().data<long>().ToArray();                               // host reads go through .cpu(): data<T>() refuses device tensors
            var limits = lengths.Select(l => (int)Math.Min(model.MaxLength - 1, Math.Floor(options.MaxLengthRatio * l) + options.MaxLengthOffset)).ToArray();
            var encoded = model.Encode(src, srcMask);
            return options.BeamSize == 1 ? Greedy(model, encoded, limits) : Beam(model, encoded, limits, options);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static List<Hypothesis>[] Greedy(Seq2SeqModel model, EncoderOutput encoded, int[] limits)
    {
        int batch = limits.Length;
        var tokens = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        var logProb = new double[batch];
        var done = new bool[batch];
        using var state = model.StartDecoding(encoded);
        var prev = full(batch, model.Special.Bos, ScalarType.Int64, encoded.Memory.device);
        for (int step = 0; step <= limits.Max() && done.Contains(false); step++)
        {
            using var stepScope = NewDisposeScope();
            var logp = model.DecodeStep(prev, state);                                            // [batch, vocab]
            var (best, index) = logp.max(1);
            // One host read per step: [batch, 3] = best id (exact in float64), its log-probability, the log-probability of EOS.
            var host = stack([index.to(ScalarType.Float64), best.to(ScalarType.Float64), logp[.., model.Special.Eos].to(ScalarType.Float64)], 1)
                .cpu().data<double>().ToArray();
            var ids = new long[batch];
            for (int b = 0; b < batch; b++)
            {
                if (done[b]) { ids[b] = model.Special.Pad; continue; }
                bool atLimit = step >= limits[b];
                long id = atLimit ? model.Special.Eos : (long)host[3 * b];
                logProb[b] += atLimit ? host[3 * b + 2] : host[3 * b + 1];
                if (id == model.Special.Eos) done[b] = true;
                else tokens[b].Add((int)id);
                ids[b] = id;
            }
            prev = tensor(ids, device: prev.device).MoveToOuterDisposeScope();
        }
        return tokens.Select((t, b) => new List<Hypothesis> { new(t.ToArray(), logProb[b], logProb[b]) }).ToArray();
    }

    /// <summary>A hypothesis still being extended: its tokens so far (no BOS) and their total log-probability.</summary>
    private sealed record Partial(int[] Tokens, double LogProbability);

    /// <summary>One sentence's search: at most k live hypotheses (rows b·k .. b·k + k − 1 of the decoder state) and the finished ones.</summary>
    private sealed class SentenceBeam(int limit)
    {
        public int Limit { get; } = limit;
        public List<Partial> Live { get; set; } = [new([], 0)];
        public List<Hypothesis> Finished { get; } = [];
        public bool Done { get; set; }
    }

    /// <summary>
    /// Batched beam search. Each step scores every live hypothesis's extensions and takes the 2k best per sentence, best
    /// first: an extension ending in EOS becomes a finished hypothesis (ranked by <see cref="LengthPenalty"/>), the others
    /// live on until k do. A sentence stops when it has k finished hypotheses, none live, or reaches its length limit
    /// (then its live hypotheses are finished with EOS). One host read per step.
    /// </summary>
    private static List<Hypothesis>[] Beam(Seq2SeqModel model, EncoderOutput encoded, int[] limits, DecodingOptions o)
    {
        int batch = limits.Length, k = o.BeamSize;
        long eos = model.Special.Eos, pad = model.Special.Pad;
        var device = encoded.Memory.device;
        var sentences = limits.Select(limit => new SentenceBeam(limit)).ToArray();
        using var state = model.StartDecoding(encoded);
        state.Select(arange(batch, dtype: ScalarType.Int64, device: device).repeat_interleave(k));   // k rows per sentence
        var prev = full(batch * k, model.Special.Bos, ScalarType.Int64, device);
        for (int step = 0; ; step++)
        {
            using var stepScope = NewDisposeScope();
            var logp = model.DecodeStep(prev, state);                                              // [batch * k, vocab]
            int vocab = (int)logp.shape[1];
            var total = logp + tensor(RowScores(sentences, k), device: device).to(logp.dtype).unsqueeze(1);   // [batch * k, vocab]
            var (topScores, topIndex) = total.view(batch, k * vocab).topk(2 * k, dim: 1);          // [batch, 2k]
            // One host read per step: the top 2k scores and flat indices of every sentence, and every row's EOS log-probability.
            var host = cat([topScores.flatten().to(ScalarType.Float64), topIndex.flatten().to(ScalarType.Float64),
                            logp[.., eos].to(ScalarType.Float64)]).cpu().data<double>().ToArray();
            var scores = host.AsSpan(0, batch * 2 * k);                                             // [batch, 2k]
            var indices = host.AsSpan(batch * 2 * k, batch * 2 * k);                               // [batch, 2k], exact in float64
            var eosLogp = host.AsSpan(batch * 4 * k);                                               // [batch * k]
            var origin = new long[batch * k];                                                       // the row each new row continues
            var nextIds = new long[batch * k];
            for (int b = 0; b < batch; b++)
            {
                var sentence = sentences[b];
                int row0 = b * k;
                var rows = new List<(int Beam, int Token)>(k);
                if (!sentence.Done && step >= sentence.Limit)
                {
                    for (int j = 0; j < sentence.Live.Count; j++)                                  // out of length: finish with EOS
                        Finish(sentence, sentence.Live[j], sentence.Live[j].LogProbability + eosLogp[row0 + j], o);
                    sentence.Live = [];
                }
                else if (!sentence.Done)
                {
                    var next = new List<Partial>(k);
                    for (int c = 0; c < 2 * k && next.Count < k; c++)
                    {
                        double score = scores[b * 2 * k + c];
                        if (double.IsNegativeInfinity(score)) break;
                        long flat = (long)indices[b * 2 * k + c];
                        int beam = (int)(flat / vocab), token = (int)(flat % vocab);
                        var from = sentence.Live[beam];
                        if (token == eos)
                        {
                            if (sentence.Finished.Count < k) Finish(sentence, from, score, o);
                            continue;
                        }
                        next.Add(new Partial([.. from.Tokens, token], score));
                        rows.Add((beam, token));
                    }
                    sentence.Live = next;
                }
                sentence.Done = sentence.Done || step >= sentence.Limit || sentence.Finished.Count >= k || sentence.Live.Count == 0;
                if (sentence.Done) sentence.Live = [];
                for (int j = 0; j < k; j++)
                {
                    bool live = j < sentence.Live.Count;
                    origin[row0 + j] = live ? row0 + rows[j].Beam : row0;
                    nextIds[row0 + j] = live ? rows[j].Token : pad;
                }
            }
            if (sentences.All(s => s.Done)) break;
            state.Select(tensor(origin, device: device));
            prev = tensor(nextIds, device: device).MoveToOuterDisposeScope();
        }
        return sentences.Select(s => s.Finished.OrderByDescending(h => h.Score).Take(o.NBest).ToList()).ToArray();
    }

    /// <summary>Each row's total log-probability so far ([batch · k]; −∞ for a row with no live hypothesis).</summary>
    private static double[] RowScores(SentenceBeam[] sentences, int k)
    {
        var scores = new double[sentences.Length * k];
        Array.Fill(scores, double.NegativeInfinity);
        for (int b = 0; b < sentences.Length; b++)
            for (int j = 0; j < sentences[b].Live.Count; j++) scores[b * k + j] = sentences[b].Live[j].LogProbability;
        return scores;
    }

    private static void Finish(SentenceBeam sentence, Partial partial, double logProbability, DecodingOptions o) =>
        sentence.Finished.Add(new Hypothesis(partial.Tokens, logProbability,
                                             LengthPenalty.Score(logProbability, partial.Tokens.Length + 1, o.Normalization, o.Alpha)));   // EOS counts as a token
}

/// <summary>How a finished hypothesis is ranked against others of different lengths.</summary>
public static class LengthPenalty
{
    /// <summary>
    /// The score of a hypothesis of total log-probability <paramref name="logProbability"/> and <paramref name="length"/>
    /// tokens (EOS included): GNMT (Wu et al. 2016, eq. 14) log P / ((5 + |Y|) / 6)^α; Average log P / |Y|; None log P.
    /// </summary>
    public static double Score(double logProbability, int length, LengthNormalization normalization, double alpha) => normalization switch
    {
        LengthNormalization.Gnmt => logProbability / Math.Pow((5.0 + length) / 6.0, alpha),
        LengthNormalization.Average => logProbability / length,
        _ => logProbability,
    };
}
