using System.Text;
using Transformers.Tokenizer.Normalization;

namespace Transformers.Tokenizer.Training;

/// <summary>
/// Reads UTF-8 text in chunks of about <see cref="ChunkChars"/> characters, each cut just after a word
/// boundary (whitespace, punctuation or CJK ideograph), so chunks can be pre-tokenized independently
/// and in parallel with the same result as the whole text. Invalid UTF-8 is decoded as U+FFFD (which
/// BERT's cleaning then removes) and counted; it never throws. Lines may be of any length.
/// </summary>
public sealed class TextChunkReader
{
    public const int ChunkChars = 1 << 20;

    private readonly BertNormalizer _normalizer;
    private readonly CountingFallback _fallback = new();
    private long _bytesRead;

    public TextChunkReader(BertNormalizer normalizer) => _normalizer = normalizer;

    /// <summary>Invalid UTF-8 sequences met so far (each replaced by one U+FFFD).</summary>
    public int InvalidSequences => _fallback.Count;

    /// <summary>Bytes read so far (reads happen on the enumerating thread).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>The chunks of one stream.</summary>
    public IEnumerable<string> ReadChunks(Stream stream)
    {
        var decoder = Encoding.GetEncoding(Encoding.UTF8.CodePage, EncoderFallback.ReplacementFallback, _fallback).GetDecoder();
        var bytes = new byte[ChunkChars];
        var chars = new char[ChunkChars * 2 + 16];
        int pending = 0; // characters carried over from the previous read
        while (true)
        {
            int read = stream.Read(bytes, 0, bytes.Length);
            Interlocked.Add(ref _bytesRead, read);
            bool last = read == 0;
            pending += decoder.GetChars(bytes, 0, read, chars, pending, flush: last);
            if (last)
            {
                if (pending > 0) yield return new string(chars, 0, pending);
                yield break;
            }
            int cut = LastBoundary(chars.AsSpan(0, pending));
            // No boundary in a whole chunk: the word is far longer than any WordPiece limit, cut anywhere
            // (not inside a surrogate pair).
            if (cut < 0 && pending >= ChunkChars)
                cut = char.IsHighSurrogate(chars[pending - 1]) ? pending - 2 : pending - 1;
            if (cut < 0) continue;
            yield return new string(chars, 0, cut + 1);
            Array.Copy(chars, cut + 1, chars, 0, pending - cut - 1);
            pending -= cut + 1;
        }
    }

    private int LastBoundary(ReadOnlySpan<char> text)
    {
        for (int i = text.Length - 1; i >= 0; i--)
            if (_normalizer.KindOf(text[i]) is CharKind.Whitespace or CharKind.Isolated) return i;
        return -1;
    }

    /// <summary>Replaces each invalid sequence by U+FFFD and counts it.</summary>
    private sealed class CountingFallback : DecoderFallback
    {
        private int _count;
        public int Count => Volatile.Read(ref _count);
        public override int MaxCharCount => 1;
        public override DecoderFallbackBuffer CreateFallbackBuffer() => new Buffer(this);

        private sealed class Buffer(CountingFallback owner) : DecoderFallbackBuffer
        {
            private int _remaining;
            public override int Remaining => _remaining;

            public override bool Fallback(byte[] bytesUnknown, int index)
            {
                Interlocked.Increment(ref owner._count);
                _remaining = 1;
                return true;
            }

            public override char GetNextChar()
            {
                if (_remaining == 0) return '\0';
                _remaining = 0;
                return '\uFFFD';
            }

            public override bool MovePrevious()
            {
                if (_remaining != 0) return false;
                _remaining = 1;
                return true;
            }

            public override void Reset() => _remaining = 0;
        }
    }
}
