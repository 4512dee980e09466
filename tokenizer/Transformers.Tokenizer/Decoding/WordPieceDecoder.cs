using System.Text;
using Transformers.Tokenizer.Models;

namespace Transformers.Tokenizer.Decoding;

/// <summary>
/// Ids back to text as HF's <c>WordPiece</c> decoder with <c>cleanup = true</c> does: a <c>##</c> piece
/// joins the previous one, any other token is preceded by a space, and each token (with its space) is
/// cleaned: " ." " ?" " !" " ," lose their space, as do the contraction pieces " n't" " 'm" " 's" " 've" " 're".
/// Out-of-range ids decode as the unknown token.
/// </summary>
public sealed class WordPieceDecoder
{
    private static readonly (string Dirty, string Clean)[] Cleanups =
    [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ];

    private readonly WordPieceModel _model;
    private readonly HashSet<int> _special;

    public WordPieceDecoder(WordPieceModel model, IEnumerable<int> specialIds)
    {
        _model = model;
        _special = new HashSet<int>(specialIds);
    }

    public bool Cleanup { get; init; } = true;

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var vocab = _model.Vocabulary;
        string prefix = _model.ContinuingSubwordPrefix;
        var text = new StringBuilder();
        var piece = new StringBuilder();
        bool firstToken = true;
        foreach (int id in ids)
        {
            if (skipSpecialTokens && _special.Contains(id)) continue;
            string token = (uint)id < (uint)vocab.Count ? vocab[id] : vocab[_model.UnknownId];
            piece.Clear();
            if (firstToken) piece.Append(token);
            else if (token.StartsWith(prefix, StringComparison.Ordinal)) piece.Append(token, prefix.Length, token.Length - prefix.Length);
            else piece.Append(' ').Append(token);
            firstToken = false;
            if (Cleanup)
                foreach (var (dirty, clean) in Cleanups) piece.Replace(dirty, clean);
            text.Append(piece);
        }
        return text.ToString();
    }
}
