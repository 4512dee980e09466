using Transformers.Tokenizer.Models;

namespace Transformers.Tokenizer.Tests;

public class FuzzTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RandomUnicodeNeverThrowsAndOffsetsStayOrderedInsideTheText(bool uncased)
    {
        var tokenizer = uncased ? TestData.Bert
            : WordPieceTokenizer.FromVocabStream(TestData.OpenVocab(), "vocab.txt", WordPieceOptions.Cased);
        var random = new Random(uncased ? 2024 : 2025);
        var buffer = new TokenBuffer();
        for (int i = 0; i < 100_000; i++)
        {
            string text = RandomText.AnyUnicode(random);
            buffer.Clear();
            tokenizer.EncodeTo(text, buffer);
            int lastStart = 0, lastEnd = 0;
            for (int t = 0; t < buffer.Count; t++)
            {
                int start = buffer.Starts[t], end = buffer.Ends[t];
                if (!(0 <= start && start < end && end <= text.Length && start >= lastStart && end >= lastEnd))
                    Assert.Fail($"token {t} offsets ({start}, {end}) after ({lastStart}, {lastEnd}) in a text of {text.Length}: {string.Join(' ', text.Select(c => ((int)c).ToString("X4")))}");
                lastStart = start;
                lastEnd = end;
            }
            _ = tokenizer.Decode(buffer.Ids.ToArray(), skipSpecialTokens: i % 2 == 0);
        }
    }
}
