using System.Runtime.CompilerServices;
using System.Text;
using Transformers.Tokenizer.Normalization;

namespace Transformers.Tokenizer.PreTokenization;

/// <summary>Receives the words of a text, normalized, with the original offsets of every normalized unit.</summary>
public interface IWordSink
{
    /// <summary>
    /// One word. <paramref name="starts"/>[k] and <paramref name="ends"/>[k] are the original-text range
    /// of the character that produced normalized unit k. When <paramref name="tooLong"/> is set the word
    /// exceeded the scanner's capacity: <paramref name="chars"/> holds only its beginning, but
    /// <paramref name="starts"/>[0] and <paramref name="ends"/>[^1] still span the whole word.
    /// </summary>
    void OnWord(ReadOnlySpan<char> chars, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, bool tooLong);
}

/// <summary>
/// BERT's normalizer and pre-tokenizer (HF <c>BertNormalizer</c> + <c>BertPreTokenizer</c>) fused into
/// one pass over the original text: whitespace separates words and is dropped; punctuation, ASCII
/// symbols and CJK ideographs are words of their own; removed characters (controls, stripped accents)
/// are not boundaries. Not thread-safe (it reuses its buffers): use one per thread.
/// </summary>
public sealed class BertPreTokenizer
{
    private readonly BertNormalizer _normalizer;
    private readonly char[] _chars;
    private readonly int[] _starts;
    private readonly int[] _ends;
    private int _length;
    private bool _tooLong;

    /// <param name="normalizer">The per-character normalizer.</param>
    /// <param name="capacity">Longest word kept in full, in UTF-16 units; longer words are reported with <c>tooLong</c>.</param>
    public BertPreTokenizer(BertNormalizer normalizer, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _normalizer = normalizer;
        _chars = new char[capacity];
        _starts = new int[capacity];
        _ends = new int[capacity];
    }

    public BertNormalizer Normalizer => _normalizer;

    /// <summary>Splits <paramref name="text"/> into words; offsets are reported plus <paramref name="offsetBase"/>.</summary>
    public void Split<TSink>(ReadOnlySpan<char> text, int offsetBase, ref TSink sink) where TSink : struct, IWordSink
    {
        var normalizer = _normalizer;
        _length = 0;
        _tooLong = false;
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            switch (normalizer.KindOf(c))
            {
                case CharKind.Word:
                    Append(normalizer.MapOf(c), offsetBase + i, offsetBase + i + 1);
                    i++;
                    break;
                case CharKind.Whitespace:
                    Flush(ref sink);
                    i++;
                    break;
                case CharKind.Isolated:
                    Flush(ref sink);
                    Append(normalizer.MapOf(c), offsetBase + i, offsetBase + i + 1);
                    Flush(ref sink);
                    i++;
                    break;
                case CharKind.Removed:
                    i++;
                    break;
                default:
                    i += SlowPath(text, i, offsetBase, ref sink);
                    break;
            }
        }
        Flush(ref sink);
    }

    /// <summary>Words of <paramref name="text"/> with their original ranges (convenience, allocates).</summary>
    public List<(string Word, Range Offsets)> PreTokenize(string text)
    {
        var sink = new CollectingSink { Words = new List<(string, Range)>() };
        Split(text, 0, ref sink);
        return sink.Words;
    }

    private struct CollectingSink : IWordSink
    {
        public List<(string, Range)> Words;

        public void OnWord(ReadOnlySpan<char> chars, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, bool tooLong) =>
            Words.Add((chars.ToString(), starts[0]..ends[^1]));
    }

    /// <summary>Surrogates and characters that normalize to several units. Returns the units consumed.</summary>
    private int SlowPath<TSink>(ReadOnlySpan<char> text, int i, int offsetBase, ref TSink sink) where TSink : struct, IWordSink
    {
        int cp = BertNormalizer.ReadCodePoint(text, i, out int width);
        int start = offsetBase + i, end = start + width;
        var (kind, mapped) = _normalizer.Classify(cp);
        switch (kind)
        {
            case CharKind.Removed:
                break;
            case CharKind.Whitespace:
                Flush(ref sink);
                break;
            case CharKind.Word:
                foreach (char m in mapped) Append(m, start, end);
                break;
            case CharKind.Isolated:
                Flush(ref sink);
                foreach (char m in mapped) Append(m, start, end);
                Flush(ref sink);
                break;
            default:
                // Several code points: the pre-tokenizer sees each of them (e.g. U+037E becomes ';').
                foreach (var r in mapped.EnumerateRunes())
                {
                    bool punct = BertNormalizer.IsPunctuation(r.Value);
                    if (punct || BertNormalizer.IsWhitespace(r.Value)) Flush(ref sink);
                    if (BertNormalizer.IsWhitespace(r.Value)) continue;
                    AppendRune(r, start, end);
                    if (punct) Flush(ref sink);
                }
                break;
        }
        return width;
    }

    private void AppendRune(Rune r, int start, int end)
    {
        Span<char> units = stackalloc char[2];
        int n = r.EncodeToUtf16(units);
        for (int k = 0; k < n; k++) Append(units[k], start, end);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Append(char c, int start, int end)
    {
        int n = _length;
        if ((uint)n < (uint)_chars.Length)
        {
            _chars[n] = c;
            _starts[n] = start;
            _ends[n] = end;
            _length = n + 1;
        }
        else
        {
            // Too long to keep: remember only where it ends.
            _tooLong = true;
            _ends[n - 1] = end;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Flush<TSink>(ref TSink sink) where TSink : struct, IWordSink
    {
        int n = _length;
        if (n == 0) return;
        sink.OnWord(_chars.AsSpan(0, n), _starts.AsSpan(0, n), _ends.AsSpan(0, n), _tooLong);
        _length = 0;
        _tooLong = false;
    }
}
