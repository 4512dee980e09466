using Microsoft.ML.Tokenizers;

namespace Transformers.Tokenizer.Tests;

/// <summary>Through the Microsoft.ML.Tokenizers base class only (no special tokens there).</summary>
public class MicrosoftMlApiTests
{
    private static Microsoft.ML.Tokenizers.Tokenizer Ml => TestData.Bert;

    [Fact]
    public void EncodeToIdsTokensCountAndDecode()
    {
        const string text = "Hello, world!";
        Assert.Equal([7592, 1010, 2088, 999], Ml.EncodeToIds(text));
        var tokens = Ml.EncodeToTokens(text, out string? normalized);
        Assert.Null(normalized); // offsets refer to the original text
        Assert.Equal(["hello", ",", "world", "!"], tokens.Select(t => t.Value));
        Assert.Equal([0..5, 5..6, 7..12, 12..13], tokens.Select(t => t.Offset));
        Assert.Equal(4, Ml.CountTokens(text));
        Assert.Equal("hello, world!", Ml.Decode([7592, 1010, 2088, 999]));
    }

    [Fact]
    public void MaxTokenCountReportsCharsConsumed()
    {
        var ids = Ml.EncodeToIds("hello, world!", maxTokenCount: 2, out string? _, out int consumed);
        Assert.Equal([7592, 1010], ids);
        Assert.Equal(6, consumed);
    }

    [Fact]
    public void DecodeIntoSpanStopsAtTheLastIdThatFits()
    {
        Span<char> small = stackalloc char[8];
        var status = Ml.Decode([7592, 1010, 2088], small, out int idsConsumed, out int written);
        Assert.Equal(System.Buffers.OperationStatus.DestinationTooSmall, status);
        Assert.Equal(2, idsConsumed);
        Assert.Equal("hello,", small[..written].ToString());
    }
}
