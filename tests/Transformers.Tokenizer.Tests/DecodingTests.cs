namespace Transformers.Tokenizer.Tests;

public class DecodingTests
{
    private static WordPieceTokenizer Bert => TestData.Bert;

    [Fact]
    public void MergesPiecesAndRemovesSpacesBeforePunctuation()
    {
        int[] ids = [101, 7592, 1010, 2088, 999, 102];
        Assert.Equal("[CLS] hello, world! [SEP]", Bert.Decode(ids, skipSpecialTokens: false));
        Assert.Equal("hello, world!", Bert.Decode(ids, skipSpecialTokens: true));
        // un ##af ##fa... : the pieces of "unaffable" as HF's tokenizer produced them.
        Assert.Equal("unaffable", Bert.Decode([14477, 20961, 3468], true));
        // Other punctuation keeps its space (HF's cleanup only touches . ? ! , and contractions).
        Assert.Equal("a ( b )", Bert.Decode(Bert.Ids("a (b)"), true));
    }

    [Fact]
    public void ContractionsAreJoinedWhenTheyAreSingleTokens()
    {
        var t = WordPieceTokenizer.Create(new Models.Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "do", "n't", "'s", "it"]));
        Assert.Equal("don't it's", t.Decode([5, 6, 8, 7], true));
    }

    [Fact]
    public void UnknownIdsDecodeAsUnknownAndNeverThrow() =>
        Assert.Equal("hello [UNK] [UNK]", Bert.Decode([7592, -5, 1_000_000], false));

    [Fact]
    public void RoundTripGivesTheNormalizedText()
    {
        // Sentences of whole-word vocabulary entries, with . , ! ? attached to words (the punctuation the
        // decoder's cleanup reattaches).
        var words = TestData.BertVocab.Where(t => t.Length > 1 && t.All(c => c is >= 'a' and <= 'z')).ToArray();
        var random = new Random(1234);
        string[] marks = ["", "", "", ".", ",", "!", "?"];
        for (int s = 0; s < 500; s++)
        {
            string text = string.Join(' ', Enumerable.Range(0, random.Next(1, 20)).Select(_ => words[random.Next(words.Length)] + marks[random.Next(marks.Length)]));
            string upper = random.Next(2) == 0 ? text.ToUpperInvariant() : text;
            Assert.Equal(Bert.Normalize(upper), Bert.Decode(Bert.Encode(upper).Ids, skipSpecialTokens: true));
        }
    }
}
