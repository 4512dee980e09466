using System.Globalization;
using System.Text;
using Transformers.Data;

namespace Transformers.Bert.Classification;

/// <summary>A text and its class.</summary>
public sealed record LabelledText(string Text, string Label);

/// <summary>A classification task: labelled train, dev and test texts, and the classes (sorted, as the classifier numbers them).</summary>
public sealed record ClassificationTask(string Name, IReadOnlyList<LabelledText> Train, IReadOnlyList<LabelledText> Dev, IReadOnlyList<LabelledText> Test, IReadOnlyList<string> Labels)
{
    /// <summary>
    /// Which Debian package an English message of the bundled corpus comes from (44 classes), on the corpus's own
    /// train / dev / test split: a task the bundled data labels by itself. Texts of classes that train does not have are
    /// dropped from dev and test.
    /// </summary>
    public static ClassificationTask Packages(CorpusSplit split) => Packages(split, BundledCorpus.PackageOf);

    /// <summary>The same task with each pair's package given by <paramref name="packageOf"/>.</summary>
    public static ClassificationTask Packages(CorpusSplit split, Func<SentencePair, string> packageOf)
    {
        List<LabelledText> Texts(IEnumerable<SentencePair> pairs) => pairs.Select(p => new LabelledText(p.Target, packageOf(p))).ToList();
        var train = Texts(split.Train);
        var labels = train.Select(t => t.Label).Distinct().Order(StringComparer.Ordinal).ToList();
        var known = labels.ToHashSet(StringComparer.Ordinal);
        return new ClassificationTask("package", train, Texts(split.Dev).Where(t => known.Contains(t.Label)).ToList(),
                                      Texts(split.Test).Where(t => known.Contains(t.Label)).ToList(), labels);
    }

    /// <summary>The share of <paramref name="texts"/> whose most frequent class in train is right: what always guessing it scores.</summary>
    public double MajorityAccuracy(IReadOnlyList<LabelledText> texts)
    {
        var majority = Train.GroupBy(t => t.Label).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        return texts.Count == 0 ? 0 : (double)texts.Count(t => t.Label == majority) / texts.Count;
    }
}

/// <summary>
/// The bag-of-words baseline: multinomial naive Bayes over lowercased words (runs of letters or digits) with add-one
/// smoothing (Manning et al. 2008, §13.2). What a classifier must beat for its figure to mean something.
/// </summary>
public sealed class BagOfWords
{
    private readonly string[] labels;
    private readonly double[] logPrior;                           // [class]
    private readonly Dictionary<string, double[]> logLikelihood;  // word -> [class]
    private readonly double[] logUnseen;                          // [class]: a word never seen in training

    public IReadOnlyList<string> Labels => labels;

    public BagOfWords(IReadOnlyList<LabelledText> train, IReadOnlyList<string> labels)
    {
        this.labels = labels.ToArray();
        var index = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        int k = labels.Count;
        var docs = new long[k];
        var counts = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var totals = new long[k];
        foreach (var text in train)
        {
            int c = index.TryGetValue(text.Label, out var i) ? i : throw new ArgumentException($"label '{text.Label}' is not among the {k} classes");
            docs[c]++;
            foreach (var word in Words(text.Text))
            {
                (counts.TryGetValue(word, out var row) ? row : counts[word] = new long[k])[c]++;
                totals[c]++;
            }
        }
        int vocabulary = counts.Count + 1;                                   // + the unseen word
        logPrior = docs.Select(d => Math.Log((d + 1.0) / (train.Count + k))).ToArray();
        logUnseen = totals.Select(t => Math.Log(1.0 / (t + vocabulary))).ToArray();
        logLikelihood = counts.ToDictionary(kv => kv.Key, kv => kv.Value.Select((n, c) => Math.Log((n + 1.0) / (totals[c] + vocabulary))).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Lowercased runs of letters and digits.</summary>
    public static IEnumerable<string> Words(string text)
    {
        var word = new StringBuilder();
        foreach (var ch in text)
        {
            if (char.IsLetterOrDigit(ch)) word.Append(char.ToLowerInvariant(ch));
            else if (word.Length > 0)
            {
                yield return word.ToString();
                word.Clear();
            }
        }
        if (word.Length > 0) yield return word.ToString();
    }

    /// <summary>The log-probability of each class for <paramref name="text"/>, up to a constant.</summary>
    public double[] Scores(string text)
    {
        var scores = (double[])logPrior.Clone();
        foreach (var word in Words(text))
        {
            var row = logLikelihood.GetValueOrDefault(word) ?? logUnseen;
            for (int c = 0; c < scores.Length; c++) scores[c] += row[c];
        }
        return scores;
    }

    /// <summary>The most likely class (ties: the first in <see cref="Labels"/>).</summary>
    public string Predict(string text)
    {
        var scores = Scores(text);
        int best = 0;
        for (int c = 1; c < scores.Length; c++) if (scores[c] > scores[best]) best = c;
        return labels[best];
    }

    public double Accuracy(IReadOnlyList<LabelledText> texts) =>
        texts.Count == 0 ? 0 : (double)texts.Count(t => Predict(t.Text) == t.Label) / texts.Count;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"multinomial naive Bayes, {logLikelihood.Count:N0} words, {labels.Length} classes");
}
