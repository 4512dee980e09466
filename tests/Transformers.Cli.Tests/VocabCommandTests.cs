namespace Transformers.Cli.Tests;

/// <summary>
/// `vocab train` writes HF's tokenizer_config.json beside vocab.txt; `vocab encode` reads the options from it, and takes
/// a translator run or checkpoint (its saved tokenizer) as well as a vocab.txt.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class VocabCommandTests(CliFiles files)
{
    private static string Encode(string vocab, string text, params string[] extra) =>
        Cli.Run(["vocab", "encode", "--vocab", vocab, .. extra], Cli.Utf8(text + "\n")) is { ExitCode: 0 } r
            ? r.OutLines.Single()
            : throw new InvalidOperationException("vocab encode failed");

    [Fact]
    public void EncodeARun_UsesTheCasedTokenizerItSaved()
    {
        const string text = "le fichier numéro 12";
        var cased = Encode(files.PathOf("vocab.txt"), text, "--cased");
        Assert.Equal(cased, Encode(files.PathOf("run"), text));                   // no --cased: the run's tokenizer_config.json says so
        Assert.Equal(cased, Encode(files.PathOf("run/best"), text));
        Assert.NotEqual(cased, Encode(files.PathOf("vocab.txt"), text));           // a bare vocab.txt is uncased, as HF's default: "numero"
        Assert.Contains("numéro", cased);
    }

    [Fact]
    public void Train_WritesTheConfigBesideTheVocabulary_AndEncodeFollowsIt()
    {
        var dir = files.PathOf("vocab-train-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var train = Cli.Run("vocab", "train", "--input", files.PathOf("corpus.tsv"), "--vocab-size", "150", "--cased", "--threads", "1",
                            "--out", Path.Combine(dir, "vocab.txt"));
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Equal(["tokenizer_config.json", "vocab.txt"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("\"do_lower_case\": false", File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")));

        const string text = "la maison numéro 7";
        var byDirectory = Encode(dir, text);
        Assert.Equal(Encode(Path.Combine(dir, "vocab.txt"), text, "--cased"), byDirectory);
        Assert.Equal(byDirectory, Encode(Path.Combine(dir, "vocab.txt"), text));     // the config beside the file is read too
        Assert.Contains("numéro", byDirectory);
    }
}
