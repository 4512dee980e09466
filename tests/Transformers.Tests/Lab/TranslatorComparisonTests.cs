using System.Text.Json;
using Transformers.Data;
using Transformers.Lab.Runner;
using Transformers.Lab.Translation;
using Transformers.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Lab;

/// <summary>Issue 6's comparison report from two tiny training runs on the bundled corpus (with token snapshots) and an exported model.</summary>
[Collection(SerialCollection.Name)]
public sealed class TranslatorComparisonTests
{
    [Fact]
    public void TwoTinyRunsAndAnExport_GiveTheTables_TheEqualTokenSnapshots_AndBothPlots()
    {
        var root = Path.Combine(Path.GetTempPath(), "comparison-" + Guid.NewGuid().ToString("N"));
        try
        {
            var split = BundledCorpus.LoadSplit();
            var tokenizer = TranslationData.TrainTokenizer(split.Train.Take(200).ToList(), 300);
            var data = TranslationData.Create(split, tokenizer, new TranslationDataOptions { VocabSize = 300, TrainLimit = 200, MaxTokensPerBatch = 512, MaxTokensPerSide = 60 });
            var special = TranslationData.SpecialsOf(tokenizer);
            int vocab = tokenizer.Vocabulary.Count;
            var models = new (string Name, Func<Seq2SeqModel> Build)[]
            {
                ("transformer", () => new TransformerTranslator(TransformerConfig.Tiny(vocab) with { Special = special })),
                ("gru", () => new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(vocab, RecurrentCellKind.Gru, RecurrentAttention.Bahdanau) with { Special = special })),
            };
            var runs = new List<string>();
            foreach (var (name, build) in models)
            {
                manual_seed(1);
                using var model = build();
                var dir = Path.Combine(root, name);
                var trainer = new Trainer(model, data, tokenizer.Vocabulary.Tokens,
                    new TrainerOptions { MaxSteps = 3, EvalEverySteps = 3, WarmupSteps = 2, Patience = 0, SnapshotAtTokens = [1, 10_000_000] }, dir)
                {
                    DevBleu = m => 0.5,
                };
                trainer.Run();
                Assert.True(Directory.Exists(Path.Combine(dir, "tokens-1")), "the snapshot after the first target token");
                Assert.False(Directory.Exists(Path.Combine(dir, "tokens-10000000")), "no snapshot for a count never reached");
                data.Spacing.Save(Path.Combine(dir, SpacingModel.FileName));
                runs.Add(dir);
            }
            // An exported model (what the built-in translator is) stands beside the runs: no log, no snapshots, its provenance.
            var exported = ModelExport.Export(runs[0], Path.Combine(root, "exported")).Directory;

            var output = Path.Combine(root, "report");
            var results = TranslatorComparison.Run([.. runs, exported], output, new TranslatorComparison.Options(Beam: 2, TestLimit: 4, SampleCount: 2), MachineStamp.Take(1), TextWriter.Null);

            Assert.Equal(["transformer", "gru", "exported"], results.Select(r => r.Name));
            var packed = results[2];
            Assert.Equal((3L, "transformer", results[0].Parameters), (packed.Steps, packed.Architecture, packed.Parameters));
            Assert.Equal(4, packed.Beam.Sentences);
            Assert.Null(packed.AtEqualTokens);
            Assert.Equal(results[0].Evals.Select(e => e.Step), packed.Evals.Select(e => e.Step));
            Assert.All(results.Take(2), r =>
            {
                Assert.Equal(3, r.Steps);
                Assert.Equal(4, r.Greedy.Sentences);
                Assert.Equal(2, r.Beam.Beam);
                Assert.NotNull(r.AtEqualTokens);
                Assert.EndsWith("tokens-1", r.AtEqualTokens!.Checkpoint);
            });
            var report = File.ReadAllText(Path.Combine(output, "report.md"));
            Assert.Contains("after the same number of target tokens", report);
            Assert.Contains("| transformer |", report);
            Assert.Contains("| gru |", report);
            Assert.Contains("| exported |", report);
            foreach (var png in new[] { "dev_bleu_over_time.png", "dev_bleu_over_tokens.png" })
                Assert.True(new FileInfo(Path.Combine(output, png)).Length > 10_000, png);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
            Assert.Equal(1, json.RootElement.GetProperty("EqualTokens").GetInt64());
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ARunWithoutALog_IsRejectedWithItsPath()
    {
        var dir = Path.Combine(Path.GetTempPath(), "not-a-run-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => TranslatorComparison.Run([dir], Path.Combine(dir, "out"), new TranslatorComparison.Options(), MachineStamp.Take(1), TextWriter.Null));
            Assert.Contains(Path.Combine(dir, "train.jsonl"), e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
