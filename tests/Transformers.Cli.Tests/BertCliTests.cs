namespace Transformers.Cli.Tests;

/// <summary>`pretrain`, `fill-mask` and `heads` on a pretrained BERT, end to end, and their bad input.</summary>
[Collection(CliCollection.Name)]
public sealed class BertCliTests(CliFiles files)
{
    private string Pretrained()
    {
        var dir = files.PathOf("bert-run");
        if (Directory.Exists(Path.Combine(dir, "last"))) return dir;
        var text = files.PathOf("bert-text.txt");
        File.WriteAllLines(text, Enumerable.Range(0, 300).Select(i => $"le fichier numéro {i} est ouvert"));
        var result = Cli.Run("pretrain", "--input", text, "--out", dir, "--preset", "tiny", "--max-steps", "3", "--vocab-size", "100", "--threads", "1");
        Assert.True(result.ExitCode == 0, result.ToString());
        return dir;
    }

    [Fact]
    public void Pretrain_WritesAnHfCheckpoint_ThatFillMaskAndHeadsRead()
    {
        var run = Pretrained();
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "trainer_state.json", "optimizer.bin", "manifest.json" })
            Assert.True(File.Exists(Path.Combine(run, "last", file)), file);
        Assert.True(File.Exists(Path.Combine(run, "train.jsonl")));

        var fill = Cli.Run("fill-mask", "--model", run, "--top-k", "2", "--threads", "1", "le fichier [MASK] 3 est ouvert");
        Assert.True(fill.ExitCode == 0, fill.ToString());
        Assert.Equal(2, fill.OutLines.Length);                                                   // the filled text, then the one mask's candidates
        Assert.StartsWith("  [MASK] 1: ", fill.OutLines[1]);
        Assert.DoesNotContain("[MASK]", fill.OutLines[0]);

        var heads = Cli.Run("heads", "--model", run, "--text", "le fichier est ouvert", "--out", files.PathOf("bert-heads"), "--no-png", "--threads", "1");
        Assert.True(heads.ExitCode == 0, heads.ToString());
        Assert.True(File.Exists(Path.Combine(files.PathOf("bert-heads"), "heads.html")));
    }

    [Fact]
    public void FillMask_BadInput_IsOneLine()
    {
        var run = Pretrained();
        var noMask = Cli.Run("fill-mask", "--model", run, "le fichier est ouvert");
        Assert.Equal(1, noMask.ExitCode);
        Assert.Contains("no [MASK]", noMask.Err);
        Assert.DoesNotContain("   at ", noMask.Err);

        var translator = Cli.Run("fill-mask", "--model", files.PathOf("run"), "le [MASK]");
        Assert.Equal(1, translator.ExitCode);
        Assert.Contains("is not a BERT checkpoint", translator.Err);

        var both = Cli.Run("pretrain", "--data", "bundled", "--input", files.PathOf("hyp.txt"), "--out", files.PathOf("bert-both"));
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("--data and --input", both.Err);
    }

    [Fact]
    public void Finetune_SavesBestAndLast_ResumesWhenRerun_AndClassifyReadsTheRun()
    {
        var pretrained = Pretrained();
        var run = files.PathOf("cls-run");
        string[] Args(int steps, int limit = 40) =>
            ["finetune", "--model", pretrained, "--out", run, "--max-steps", $"{steps}", "--train-limit", $"{limit}", "--threads", "1"];
        var first = Cli.Run(Args(1));
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("bag of words", first.Out);
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.txt", "manifest.json" })
            Assert.True(File.Exists(Path.Combine(run, "best", file)), file);
        Assert.True(File.Exists(Path.Combine(run, "last", "trainer_state.json")));

        var more = Cli.Run(Args(2));                                                             // a bigger budget continues the run
        Assert.True(more.ExitCode == 0, more.ToString());
        Assert.Contains("resuming", more.Err);
        Assert.Contains("--max-steps 1 -> 2", more.Err);
        Assert.Contains("(2 steps", more.Out);

        var other = Cli.Run(Args(3, limit: 41));                                                 // other training data: not the same run
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("--train-limit 40 -> 41", other.Err);
        Assert.DoesNotContain("   at ", other.Err);

        var reseeded = Cli.Run([.. Args(3), "--seed", "2"]);                                    // another seed: another run (seed 1, the default, is not recorded)
        Assert.Equal(1, reseeded.ExitCode);
        Assert.Contains("--seed (unset) -> 2", reseeded.Err);

        var classify = Cli.Run("classify", "--model", run, "--threads", "1", "Unable to open the file", "Setting up the package");
        Assert.True(classify.ExitCode == 0, classify.ToString());
        Assert.Equal(2, classify.OutLines.Length);
        Assert.All(classify.OutLines, l => Assert.Matches("^[a-z0-9][a-z0-9.+-]*$", l));           // Debian package names
    }
}
