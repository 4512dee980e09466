using System.Text.Json;
using Transformers.Data;
using Transformers.Inspection;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Inspection;

/// <summary>A whole report for a translator checkpoint (what `transformers heads --model runs/NAME` does), opened in Chromium.</summary>
public sealed class TranslatorReportTests
{
    private static readonly string[] Vocabulary = ["<pad>", "<s>", "</s>", "<unk>", ".", .. Enumerable.Range(5, 27).Select(i => "tok" + i)];

    [Fact]
    public void CheckpointReport_HasEveryKind_AndTheBrowserDrawsThem()
    {
        var root = Directory.CreateTempSubdirectory("heads-translator-");
        try
        {
            manual_seed(5);
            using (var fresh = new TransformerTranslator(TransformerConfig.Tiny(Vocabulary.Length)))
                Checkpoint.Save(Path.Combine(root.FullName, "run", "best"), fresh, Vocabulary);
            var loaded = Checkpoint.Load(Path.Combine(root.FullName, "run"));
            using var model = loaded.Model;
            var source = AttentionCapture.PreparePretokenized("tok5 tok6 <b>&amp; tok7 .", loaded.Vocabulary, model.Special.Unk, model.MaxLength - 1, "source");
            var target = AttentionCapture.PreparePretokenized("tok9 tok10 tok11 .", loaded.Vocabulary, model.Special.Unk, model.MaxLength - 1, "target");
            var record = AttentionCapture.FromTranslator(model, loaded.Vocabulary, source, target, "run (transformer)");
            var batch = new TranslationBatch([source.Ids.Select(i => (int)i).ToArray()], [target.Ids.Select(i => (int)i).ToArray()]).ToTensors(model.Special);
            var importance = HeadImportance.ForTranslator((TransformerTranslator)model, batch.Source, batch.SourceMask, batch.TargetIn, batch.TargetOut);
            var files = HeadsReport.Write(Path.Combine(root.FullName, "out"), record, importance, new PngOptions { PerHead = false });

            Assert.Equal(6, files.Pngs.Count);                                              // a grid per layer: 3 kinds x 2 layers
            using (var json = JsonDocument.Parse(File.ReadAllText(files.Json)))
            {
                Assert.Equal(["tok5", "tok6", "<unk>", "tok7", ".", "</s>"], json.RootElement.GetProperty("tokens").GetProperty("source").EnumerateArray().Select(e => e.GetString()!));
                Assert.Equal(6, json.RootElement.GetProperty("attention").GetArrayLength());
                Assert.Equal(3, json.RootElement.GetProperty("importance").GetArrayLength());
                Assert.Contains("<b>&amp;", json.RootElement.GetProperty("notes")[0].GetString());
            }

            var body = Chromium.BodyAttributes(Chromium.DumpDom(files.Html, "#kind=cross&layer=1&head=1"));
            Assert.Equal("1", body["data-ready"]);
            Assert.Equal("0", body["data-errors"]);
            Assert.Equal("12", body["data-maps-drawn"]);                                   // 3 kinds x 2 layers x 2 heads
            Assert.Equal("cross/1/1", body["data-selected"]);
            var dom = Chromium.DumpDom(files.Html, "#kind=decoder_self&layer=0&head=0");
            Assert.Equal("decoder_self/0/0", Chromium.BodyAttributes(dom)["data-selected"]);
            Assert.Contains("Matrix (query rows", dom);
            Assert.Contains("Alignment (target rows", Chromium.DumpDom(files.Html, "#kind=cross&layer=0&head=0"));
        }
        finally
        {
            root.Delete(true);
        }
    }
}
