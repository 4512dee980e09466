using System.Globalization;
using System.Text;

namespace Transformers.Tokenizer.Tests;

/// <summary>
/// Ids compared with HF <c>tokenizers</c> itself (the Rust library, run through Tokenizers.DotNet) and
/// with the two .NET peers, over the bert-base-uncased vocabulary.
/// </summary>
public class AgreementTests
{
    private static readonly string[] Words =
        TestData.BertVocab.Where(t => !t.StartsWith('[') && !t.StartsWith("##", StringComparison.Ordinal)).ToArray();

    private static int[] Hf(Tokenizers.DotNet.Tokenizer hf, string text) => hf.Encode(text).Select(i => (int)i).ToArray();

    [Fact]
    public void HuggingFaceAgreesOnEveryLineOfTheCorpusAndOnTheWhole()
    {
        using var hf = TestData.HuggingFace(TestData.BertVocab, lowercase: true);
        string corpus = TestData.Corpus;
        Assert.True(Encoding.UTF8.GetByteCount(corpus) > 1_000_000);
        foreach (string line in corpus.Split('\n'))
            Assert.True(Hf(hf, line).AsSpan().SequenceEqual(TestData.Bert.Ids(line)), line);
        Assert.Equal(Hf(hf, corpus), TestData.Bert.Ids(corpus));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HuggingFaceAgreesOnMultilingualTextWithSymbolsControlsAndSpecialTokens(bool lowercase)
    {
        // Cased mode uses the same vocabulary: most cased words become [UNK] or pieces, which still must agree.
        using var hf = TestData.HuggingFace(TestData.BertVocab, lowercase);
        var ours = lowercase ? TestData.Bert
            : WordPieceTokenizer.FromVocabStream(TestData.OpenVocab(), "vocab.txt", WordPieceOptions.Cased);
        var random = new Random(lowercase ? 11 : 12);
        for (int i = 0; i < 20_000; i++)
        {
            string text = RandomText.Realistic(random, Words);
            Assert.True(Hf(hf, text).AsSpan().SequenceEqual(ours.Ids(text)), Escape(text));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HuggingFaceAgreesOnRandomUnicode(bool lowercase)
    {
        // Any code point of any plane, combining marks, lone surrogates. HF's Unicode tables are older
        // (Mn, NFD, categories) or newer (lowercase) than .NET 10's; HfUnicodeTables patches the
        // difference (a probe of every code point agrees in both modes). Lone surrogates cannot reach HF
        // (it takes UTF-8): they become U+FFFD first, which is what we treat them as. The vocabulary
        // holds every BMP character and its ## form, so most pieces are real tokens, not [UNK].
        var vocab = TestData.BertVocab.Concat(Enumerable.Range(0x20, 0xFFE0).Where(c => c is < 0xD800 or > 0xDFFF)
            .SelectMany(c => new[] { ((char)c).ToString(), "##" + (char)c })).Distinct().ToArray();
        using var hf = TestData.HuggingFace(vocab, lowercase);
        var ours = WordPieceTokenizer.Create(new Models.Vocabulary(vocab), lowercase ? WordPieceOptions.Uncased : WordPieceOptions.Cased);
        var random = new Random(lowercase ? 13 : 14);
        for (int i = 0; i < 20_000; i++)
        {
            string text = RandomText.AnyUnicode(random);
            string utf8Safe = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
            Assert.True(Hf(hf, utf8Safe).AsSpan().SequenceEqual(ours.Ids(text)), Escape(text));
        }
    }

    [Fact]
    public void UnicodeVersionDifferencesFollowHuggingFace()
    {
        // U+0897 ARABIC PEPET is Mn since Unicode 16: .NET would strip it, HF's older tables keep it.
        // U+1C89 (Unicode 16) has a lowercase mapping HF knows and .NET 10 does not. We follow HF.
        var vocab = TestData.BertVocab.Concat(["##\u0897", "##\u1C8A"]).ToArray();
        using var hf = TestData.HuggingFace(vocab, lowercase: true);
        var ours = WordPieceTokenizer.Create(new Models.Vocabulary(vocab));
        Assert.Equal([1037, vocab.Length - 2, 2497], ours.Ids("a\u0897b")); // a ##\u0897 ##b
        Assert.Equal([1037, vocab.Length - 1, 2497], ours.Ids("a\u1C89b")); // a ##\u1C8A ##b
        Assert.Equal(Hf(hf, "a\u0897b \u1C89"), ours.Ids("a\u0897b \u1C89"));
    }

    [Fact]
    public void HuggingFaceEncodesWithOurTrainedCasedVocabularyAsWeDo()
    {
        // A vocab.txt we trained (cased, as the translator will) loaded by HF's WordPiece model.
        string[] lines = TestData.Corpus.Split('\n');
        var vocab = new Training.WordPieceTrainer(new Training.WordPieceTrainerOptions { VocabSize = 3000, Tokenizer = WordPieceOptions.Cased })
            .Train(lines).Vocabulary;
        using var hf = TestData.HuggingFace(vocab.Tokens, lowercase: false);
        var ours = WordPieceTokenizer.Create(vocab, WordPieceOptions.Cased);
        foreach (string line in lines.Take(5000))
            Assert.True(Hf(hf, line).AsSpan().SequenceEqual(ours.Ids(line)), line);
        Assert.Equal(Hf(hf, "Élève naïve: 10 € — déjà vu!"), ours.Ids("Élève naïve: 10 € — déjà vu!"));
    }

    [Fact]
    public void FastBertTokenizerAgreesExceptOnSpecialTokensWrittenInText()
    {
        var fast = new FastBertTokenizer.BertTokenizer();
        fast.LoadVocabulary(new StringReader(string.Join("\n", TestData.BertVocab)), convertInputToLowercase: true);
        int[] Fast(string text)
        {
            var ids = new long[text.Length * 3 + 8];
            var mask = new long[ids.Length];
            fast.Encode(text, ids, mask, ids.Length);
            int n = (int)mask.Sum();
            return ids.Skip(1).Take(n - 2).Select(i => (int)i).ToArray(); // without [CLS] ... [SEP]
        }

        foreach (string line in TestData.Corpus.Split('\n'))
            Assert.True(Fast(line).AsSpan().SequenceEqual(TestData.Bert.Ids(line)), line);

        var random = new Random(21);
        int specials = 0;
        for (int i = 0; i < 20_000; i++)
        {
            string text = RandomText.Realistic(random, Words);
            if (text.Contains("[MASK]") || text.Contains("[CLS]"))
            {
                // FastBertTokenizer does not match special tokens in text: "[MASK]" becomes [ mask ] and
                // "[CLS]" becomes [UNK] (HF, and we, emit the special token).
                specials++;
                continue;
            }
            Assert.True(Fast(text).AsSpan().SequenceEqual(TestData.Bert.Ids(text)), Escape(text));
        }
        Assert.InRange(specials, 1, 5000);
        Assert.Equal([1031, 7308, 1033], Fast("[MASK]"));
        Assert.Equal([103], TestData.Bert.Ids("[MASK]"));
    }

    [Fact]
    public void MicrosoftMlBertTokenizerDiffersOnlyByDroppingSymbolsMergingAcrossTabsAndKeepingUnderscores()
    {
        // ML.Tokenizers' BertTokenizer reads a CRLF vocab.txt as tokens ending in '\r' (every word [UNK]),
        // so it gets the LF form. Its two known bugs: it drops every symbol (Sm, Sk, Sc, So) such as
        // $ + = < > | ~ ^ ` © (dotnet/machinelearning issue 7725) and deletes \n \t \r instead of splitting
        // on them (issue 7724). A third, seen here: it does not isolate '_' (connector punctuation), so
        // "a_b" is a ##_ ##b there and a _ b in BERT. Every difference on the corpus is one of these.
        var ml = Microsoft.ML.Tokenizers.BertTokenizer.Create(
            new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", TestData.BertVocab))),
            new Microsoft.ML.Tokenizers.BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });
        var ours = TestData.Bert;
        Assert.Equal(["a", "##_", "##b"], ml.EncodeToTokens("a_b", out _).Select(t => t.Value));
        Assert.Equal([1037, 1035, 1038], ours.Ids("a_b"));
        int differing = 0, symbolLines = 0;
        foreach (string line in TestData.Corpus.Split('\n'))
        {
            var theirs = ml.EncodeToIds(line, addSpecialTokens: false);
            var mine = ours.Ids(line);
            if (theirs.SequenceEqual(mine)) continue;
            differing++;
            // Underscores; symbols inside words (ML drops them, joining the word's halves, e.g. "D´Silva");
            // combining marks (its mark removal is not BERT's NFD + drop Mn, e.g. Kannada "ಚಿರಾಗ್").
            if (line.Contains('_') || line.Any(c => c > 0x7F && IsDroppedSymbol(c.ToString()))
                || line.Normalize(NormalizationForm.FormD).Any(c => CharUnicodeInfo.GetUnicodeCategory(c)
                       is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark)) continue;
            // 7724: tabs and CRs vanish in ML, joining neighbours; compare with ours on the joined text.
            string joined = line.Replace("\t", "").Replace("\r", "");
            var withoutSymbols = ours.Ids(joined).Where(id => !IsDroppedSymbol(ours.IdToToken(id))).ToArray();
            Assert.True(theirs.SequenceEqual(withoutSymbols), line);
            if (mine.Any(id => IsDroppedSymbol(ours.IdToToken(id)))) symbolLines++;
        }
        Assert.InRange(differing, 1, 10_000);
        Assert.True(symbolLines > 0);
    }

    private static bool IsDroppedSymbol(string token) =>
        token.Length == 1 && CharUnicodeInfo.GetUnicodeCategory(token[0]) is UnicodeCategory.MathSymbol
            or UnicodeCategory.ModifierSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.OtherSymbol;

    private static string Escape(string s) =>
        string.Concat(s.Select(c => c is < ' ' or > '~' ? $"\\u{(int)c:X4}" : c.ToString()));
}
