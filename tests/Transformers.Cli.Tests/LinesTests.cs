using System.Text;
using System.Text.Json;

namespace Transformers.Cli.Tests;

/// <summary>
/// Lines are lines: every command that reads lines gives one output per input line, whatever is between the line
/// endings (a lone CR, control characters, invalid UTF-8, nothing). Inputs are fuzzed from a fixed seed.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class LinesTests(CliFiles files)
{
    /// <summary>
    /// <paramref name="count"/> lines of fuzz, each ended by \n or \r\n: words, lone CRs, control characters, invalid
    /// UTF-8 bytes, and empty lines.
    /// </summary>
    private static byte[] Fuzz(int count, int seed)
    {
        var rng = new Random(seed);
        string[] words = ["le", "chat", "maison", "fenêtre", "numéro", "Œuvre", "déjà", "½", "✓", "a", "the"];
        var bytes = new List<byte>();
        for (int line = 0; line < count; line++)
        {
            int pieces = rng.Next(0, 4) == 0 ? 0 : rng.Next(1, 8);                  // a quarter of the lines are empty
            for (int p = 0; p < pieces; p++)
            {
                switch (rng.Next(6))
                {
                    case 0: bytes.Add((byte)'\r'); break;                                   // a lone CR
                    case 1:                                                                 // another C0 control
                        var control = (byte)rng.Next(1, 32);
                        bytes.Add(control is (byte)'\n' or (byte)'\r' ? (byte)0x01 : control);
                        break;
                    case 2: bytes.Add((byte)rng.Next(0x80, 0x100)); break;                  // a byte that cannot start or continue here
                    default: bytes.AddRange(Encoding.UTF8.GetBytes(words[rng.Next(words.Length)] + " ")); break;
                }
            }
            if (rng.Next(3) == 0) bytes.Add((byte)'\r');                               // CRLF: the CR is part of the line ending
            bytes.Add((byte)'\n');
        }
        return bytes.ToArray();
    }

    private static int LoneCarriageReturns(byte[] input) => input.Where((b, i) => b == '\r' && (i + 1 == input.Length || input[i + 1] != '\n')).Count();

    [Fact]
    public void VocabEncode_2000FuzzedLines_2000OutputLines()
    {
        var input = Fuzz(2000, seed: 13);
        Assert.True(LoneCarriageReturns(input) > 500, "the fuzz has lone CRs");
        var result = Cli.Run(["vocab", "encode", "--vocab", files.PathOf("vocab.txt"), "--cased"], input);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2000, result.OutLines.Length);
        Assert.All(result.OutLines, l => Assert.Equal(2, l.Split('\t').Length));   // tokens<TAB>ids, a control character never leaks a TAB
    }

    [Fact]
    public void VocabEncode_LoneCrIsWhitespace_CrLfIsALineEnd_InvalidUtf8IsAReplacementCharacter()
    {
        var result = Cli.Run(["vocab", "encode", "--vocab", files.PathOf("vocab.txt"), "--cased"],
                             [.. Cli.Utf8("le\rchat\r\n\nle "), 0xFF, .. Cli.Utf8(" chat")]);   // no final newline
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.OutLines;
        Assert.Equal(3, lines.Length);
        var cr = lines[0].Split('\t')[0];
        Assert.Equal(Tokens("le chat"), cr);                     // the CR split the words as a space would, not the line
        Assert.Equal("\t", lines[1]);                            // an empty line: no tokens, no ids
        Assert.Equal(Tokens("le \uFFFD chat"), lines[2].Split('\t')[0]);   // the invalid byte read as U+FFFD

        string Tokens(string text) => Cli.Run(["vocab", "encode", "--vocab", files.PathOf("vocab.txt"), "--cased"], Cli.Utf8(text + "\n")).OutLines[0].Split('\t')[0];
    }

    [Fact]
    public void Translate_FuzzedLines_OneTranslationPerLine()
    {
        var input = Fuzz(40, seed: 7);
        var result = Cli.Run(["translate", "--model", files.PathOf("run"), "--beam", "1"], input);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(40, result.OutLines.Length);
    }

    [Fact]
    public void Translate_NBest_OneLinePerInput_TabSeparatedCandidates()
    {
        var result = Cli.Run(["translate", "--model", files.PathOf("run"), "--beam", "2", "--nbest", "2"], Cli.Utf8("le chat\r\n\rla\rmaison\n"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, result.OutLines.Length);
    }

    [Fact]
    public void Embed_EveryLineIsASentence_EmptyAndLoneCrIncluded()
    {
        var result = Cli.Run(["embed", "--json", "--threads", "1"], Cli.Utf8("A man eats.\n\nA\rwoman\r\n reads.\n"));
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(["A man eats.", "", "A\rwoman", " reads."], json.RootElement.GetProperty("sentences").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(4, json.RootElement.GetProperty("embeddings").GetArrayLength());
    }

    [Fact]
    public void Evaluate_LoneCrInsideALine_LinesStillAlign()
    {
        // hyp.txt is ref.txt with a CR for a space in line 1: two lines, like ref.txt, and the CR scores as a space.
        var result = Cli.Run("evaluate", "--hyp", files.PathOf("hyp.txt"), "--ref", files.PathOf("ref.txt"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("BLEU = 100.00", result.Out);
        Assert.Contains("chrF2 = 100.00", result.Out);
    }
}
