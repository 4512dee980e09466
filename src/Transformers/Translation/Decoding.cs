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

    /// <summary>
    /// Batched beam search. Each step scores every beam's extensions, keeps the 2k best per sentence; extensions ending in
    /// EOS become finished hypotheses (scored with length normalisation), the k best others continue. A sentence stops
    /// when it has k finished hypotheses or reaches its length limit (then its live beams are finished as they are).
    /// </summary>
    private static List<Hypothesis>[] Beam(Seq2SeqModel model, EncoderOutput encoded, int[] limits, DecodingOptions o)
    {
        int batch = limits.Length, k = o.BeamSize;
        var device = encoded.Memory.device;
        var finished = Enumerable.Range(0, batch).Select(_ => new List<Hypothesis>()).ToArray();
        var done = new bool[batch];
        // Live beams: tokens and cumulative log-probability per (sentence, beam).
        var beamTokens = new List<int>[batch * k];
        var beamScore = new double[batch * k];
        for (int i = 0; i < batch * k; i++) { beamTokens[i] = []; beamScore[i] = i % k == 0 ? 0 : double.NegativeInfinity; }
        using var state = model.StartDecoding(encoded);
        state.Select(arange(batch, dtype: ScalarType.Int64, device: device).repeat_interleave(k));   // [batch * k] rows
        var prev = full(batch * k, model.Special.Bos, ScalarType.Int64, device);
        for (int step = 0; done.Contains(false); step++)
        {
            using var stepScope = NewDisposeScope();
            var logp = model.DecodeStep(prev, state);                                              // [batch * k, vocab]
            int vocab = (int)logp.shape[1];
            var total = logp + tensor(beamScore, device: device).to(logp.dtype).unsqueeze(1);      // [batch * k, vocab]
            var (topScores, topIndex) = total.view(batch, k * vocab).topk(2 * k, dim: 1);          // [batch, 2k]
            // One host read per step: the top 2k scores and indices of every sentence, and every beam's EOS log-probability.
            var host = cat([topScores.flatten().to(ScalarType.Float64), topIndex.flatten().to(ScalarType.Float64),
                            logp[.., model.Special.Eos].to(ScalarType.Float64)]).cpu().data<double>().ToArray();
            var scores = host[..(batch * 2 * k)];                                                   // [batch, 2k]
            var indices = host[(batch * 2 * k)..(batch * 4 * k)].Select(i => (long)i).ToArray();   // [batch, 2k], exact in float64
            var eosLogp = host[(batch * 4 * k)..];                                                  // [batch * k]
            var nextTokens = new List<int>[batch * k];
            var nextScore = new double[batch * k];
            var origin = new long[batch * k];
            var nextIds = new long[batch * k];
            for (int b = 0; b < batch; b++)
            {
                int row0 = b * k;
                if (done[b])
                {
                    for (int j = 0; j < k; j++) { origin[row0 + j] = row0; nextTokens[row0 + j] = []; nextScore[row0 + j] = double.NegativeInfinity; nextIds[row0 + j] = model.Special.Pad; }
                    continue;
                }
                bool atLimit = step >= limits[b];
                int live = 0;
                if (atLimit)
                {
                    // Out of length: finish every live beam with EOS.
                    for (int j = 0; j < k; j++)
                        if (!double.IsNegativeInfinity(beamScore[row0 + j]))
                            AddFinished(finished[b], beamTokens[row0 + j], beamScore[row0 + j] + eosLogp[row0 + j], o);
                }
                else
                {
                    for (int c = 0; c < 2 * k && live < k; c++)
                    {
                        double s = scores[b * 2 * k + c];
                        if (double.IsNegativeInfinity(s)) break;
                        long flat = indices[b * 2 * k + c];
                        int beam = (int)(flat / vocab), token = (int)(flat % vocab);
                        int from = row0 + beam;
                        if (token == model.Special.Eos)
                        {
                            if (finished[b].Count < k) AddFinished(finished[b], beamTokens[from], s, o);
                            continue;
                        }
                        int to = row0 + live++;
                        origin[to] = from;
                        nextTokens[to] = [.. beamTokens[from], token];
                        nextScore[to] = s;
                        nextIds[to] = token;
                    }
                }
                for (int j = live; j < k; j++) { origin[row0 + j] = row0; nextTokens[row0 + j] = []; nextScore[row0 + j] = double.NegativeInfinity; nextIds[row0 + j] = model.Special.Pad; }
                if (atLimit || finished[b].Count >= k || live == 0) done[b] = true;
            }
            beamTokens = nextTokens;
            beamScore = nextScore;
            if (!done.Contains(false)) break;
            state.Select(tensor(origin, device: device));
            prev = tensor(nextIds, device: device).MoveToOuterDisposeScope();
        }
        return finished.Select(f => f.OrderByDescending(h => h.Score).Take(o.NBest).ToList()).ToArray();
    }

    private static void AddFinished(List<Hypothesis> list, List<int> tokens, double logProb, DecodingOptions o)
    {
        int length = tokens.Count + 1;                                                            // EOS counts as a token
        double score = o.Normalization switch
        {
            LengthNormalization.Gnmt => logProb / Math.Pow((5.0 + length) / 6.0, o.Alpha),
            LengthNormalization.Average => logProb / length,
            _ => logProb,
        };
        list.Add(new Hypothesis(tokens.ToArray(), logProb, score));
    }
}
