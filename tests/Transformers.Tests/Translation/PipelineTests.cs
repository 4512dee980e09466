using Transformers.Data;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

public sealed class PipelineTests
{
    internal static CorpusSplit TinyCorpus()
    {
        var fr = new[] { "Ouvrir le fichier", "Fermer le fichier", "Enregistrer le document", "Ouvrir le document", "Imprimer la page", "Fermer la fenêtre", "Nouvelle fenêtre", "Enregistrer sous" };
        var en = new[] { "Open the file", "Close the file", "Save the document", "Open the document", "Print the page", "Close the window", "New window", "Save as" };
        var pairs = fr.Select((f, i) => new SentencePair(f, en[i], "tiny", i + 1)).ToList();
        return new CorpusSplit(pairs, pairs.Take(3).ToList(), pairs.Take(2).ToList());
    }

    [Fact]
    public void Data_IsDeterministicPerEpoch_AndUsesTheTokenizersSpecials()
    {
        var split = TinyCorpus();
        var tokenizer = TranslationData.TrainTokenizer(split.Train, 200);
        var options = new TranslationDataOptions { MaxTokensPerBatch = 12, Seed = 3 };
        var a = TranslationData.Create(split, tokenizer, options);
        var b = TranslationData.Create(split, tokenizer, options);
        Assert.Equal(8, a.TrainPairs);
        var e0 = a.Epoch(0);
        Assert.Equal(e0.SelectMany(x => x.Sources).SelectMany(s => s), b.Epoch(0).SelectMany(x => x.Sources).SelectMany(s => s));
        Assert.Equal(8, e0.Sum(x => x.Sources.Count));
        Assert.Equal(tokenizer.Vocabulary.Ids["[PAD]"], a.Special.Pad);
        Assert.Equal(tokenizer.Vocabulary.Ids["[CLS]"], a.Special.Bos);
        Assert.Equal(tokenizer.Vocabulary.Ids["[SEP]"], a.Special.Eos);
        // Accents survive the cased vocabulary: "fenêtre" decodes back to itself.
        var ids = tokenizer.Encode("Fermer la fenêtre", null, new() { AddSpecialTokens = false }).Ids;
        Assert.Equal("Fermer la fenêtre", tokenizer.Decode(ids, true));
    }

    [Fact]
    public void TextTranslator_KeepsEmptyLines_AndTruncatesLongInputWithAWarning()
    {
        var split = TinyCorpus();
        var tokenizer = TranslationData.TrainTokenizer(split.Train, 200);
        var special = TranslationData.SpecialsOf(tokenizer);
        manual_seed(1);
        using var model = new TransformerTranslator(TransformerConfig.Tiny(tokenizer.Vocabulary.Count) with
        {
            Special = special, MaxLength = 16,
        });
        var warnings = new List<(int, int, int)>();
        var translator = new TextTranslator(model, tokenizer) { Truncated = (i, n, kept) => warnings.Add((i, n, kept)) };
        var longLine = string.Join(" ", Enumerable.Repeat("fichier", 40));
        var output = translator.Translate(["Ouvrir le fichier", "", "   ", longLine], new DecodingOptions { MaxLengthOffset = 3 });
        Assert.Equal(4, output.Length);
        Assert.Equal("", output[1]);
        Assert.Equal("", output[2]);
        Assert.Equal([(3, 40, 15)], warnings);
    }
}
