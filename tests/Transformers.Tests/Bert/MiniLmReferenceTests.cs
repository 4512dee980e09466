using Transformers.Bert;
using static TorchSharp.torch;

namespace Transformers.Tests.Bert;

/// <summary>
/// Proof that our BERT reproduces a real pretrained model: all-MiniLM-L6-v2 imported from its ONNX file agrees with
/// ONNX Runtime running that same file, on real sentences of varied length, batched with padding.
/// </summary>
[Collection(MiniLmCollection.Name)]
public sealed class MiniLmReferenceTests(MiniLmFixture fx, Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Sentences of varied length and content (written for this test; none is model output).</summary>
    public static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The girl is carrying a baby.",
        "A man is riding a horse.",
        "A woman is playing violin.",
        "Two men pushed carts through the woods.",
        "A man is riding a white horse on an enclosed ground.",
        "A monkey is playing drums.",
        "Someone in a gorilla costume is playing a set of drums.",
        "Hello!",
        "Yes.",
        "Open the file menu and choose Save As to store a copy of the document under a new name.",
        "The printer could not be found; check that it is switched on and connected to the network.",
        "Paris is the capital and most populous city of France.",
        "Attention is all you need.",
        "Recurrent neural networks process tokens one after another, while Transformers look at every position at once.",
        "The gradient of the loss with respect to early hidden states can vanish over long distances.",
        "She sells sea shells by the sea shore.",
        "In 1969, Apollo 11 landed on the Moon, and Neil Armstrong became the first person to walk on its surface.",
        "Please enter your password.",
        "Are you sure you want to permanently delete this item?",
        "Unable to connect to the server at 192.168.0.1:8080 (timeout after 30 seconds).",
        "The café on the corner serves crème brûlée and naïve jokes.",
        "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.",
        "Machine translation systems are evaluated with BLEU, which counts matching n-grams.",
        "The cat sat on the mat.",
        "Dogs are loyal animals that have lived with humans for thousands of years.",
        "Click here.",
        "What time is it?",
        "I think, therefore I am.",
        "The stock market fell sharply on Monday after the central bank raised interest rates by half a percentage point.",
        "Water boils at one hundred degrees Celsius at sea level.",
        "Insert a table with three rows and four columns.",
        "The quick movement of the enemy will jeopardize six gunboats.",
        "A journey of a thousand miles begins with a single step.",
        "To be, or not to be, that is the question.",
        "The museum is closed on Tuesdays and public holidays.",
        "Download complete.",
        "An error occurred while saving the image; the disk may be full.",
        "Photosynthesis converts light energy into chemical energy stored in glucose.",
        "He played the piano beautifully at the concert last night.",
        "The committee will meet again next week to discuss the budget for the coming year.",
        "Select the layer you want to rename, then double-click on its name.",
        "Mountains covered with snow rose above the quiet village.",
        "How do I reset my password if I no longer have access to my email account?",
        "The train to London leaves from platform nine at a quarter past ten.",
        "Children were playing football in the park.",
        "Language models predict the next word from the words that came before it.",
        "The meeting has been moved to Thursday afternoon.",
        "Bread, butter, cheese and a bottle of red wine were on the table.",
        "A long sentence keeps going, adding clause after clause, with commas and conjunctions, so that the tokenizer produces many pieces and the padding of the other sentences in the same batch becomes substantial, which is exactly what this test wants to exercise.",
        "OK",
        "Volume muted.",
        "The spacecraft's heat shield protected it during re-entry into the atmosphere.",
        "Save changes before closing?",
    ];

    [Fact]
    public void LastHiddenStates_MatchOnnxRuntime_OnBatchesWithPadding()
    {
        Assert.True(Sentences.Length >= 50);
        double worst = 0;
        int tokens = 0;
        foreach (var batch in Sentences.Chunk(8))
        {
            var (ids, mask) = fx.Encode(batch);
            var ours = fx.RunOurs(ids, mask);
            var reference = fx.RunReference(ids, mask);
            for (int b = 0; b < batch.Length; b++)
                for (int t = 0; t < ids.GetLength(1); t++)
                {
                    if (mask[b, t] == 0) continue;
                    tokens++;
                    for (int k = 0; k < 384; k++)
                        worst = Math.Max(worst, Math.Abs(ours[b, t, k] - reference[b, t, k]));
                }
        }
        output.WriteLine($"{Sentences.Length} sentences, {tokens} tokens: max |ours - ONNX Runtime| = {worst:E3}");
        Assert.True(tokens > 500, $"only {tokens} tokens compared");
        Assert.True(worst <= 1e-4, $"max |ours - ONNX Runtime| over {tokens} tokens = {worst:E3} > 1e-4");
    }

    [Fact]
    public void SentenceEmbeddings_MatchOnnxRuntime_CosineAbove0_99999()
    {
        double lowest = 1;
        foreach (var batch in Sentences.Chunk(16))
        {
            var (ids, mask) = fx.Encode(batch);
            var ours = fx.RunOurs(ids, mask);
            var reference = fx.RunReference(ids, mask);
            for (int b = 0; b < batch.Length; b++)
            {
                var a = MeanPoolNormalized(ours, mask, b);
                var r = MeanPoolNormalized(reference, mask, b);
                double cos = a.Zip(r, (x, y) => x * y).Sum();
                lowest = Math.Min(lowest, cos);
                Assert.True(cos >= 0.99999, $"'{batch[b]}': cosine {cos:F7} < 0.99999");
            }
        }
        output.WriteLine($"lowest cosine(ours, ONNX Runtime) over {Sentences.Length} sentence embeddings = {lowest:F9}");
    }

    /// <summary>The sanity slice in ARCHITECTURE.md, computed independently of this code.</summary>
    [Fact]
    public void KnownSlice_OfTheQuickBrownFox()
    {
        long[] ids = [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102];
        var (encoded, _) = fx.Encode(["the quick brown fox jumps over the lazy dog."]);
        Assert.Equal(ids, Enumerable.Range(0, ids.Length).Select(i => encoded[0, i]));
        var mask = new long[1, ids.Length];
        var idArr = new long[1, ids.Length];
        for (int i = 0; i < ids.Length; i++) { idArr[0, i] = ids[i]; mask[0, i] = 1; }
        var h = fx.RunOurs(idArr, mask);
        float[] cls = [0.046444f, 0.338062f, 0.208205f, 0.646797f];
        float[] the = [0.116217f, 0.226352f, 0.102073f, 0.734834f];
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(cls[k], h[0, 0, k], 1e-4f);
            Assert.Equal(the[k], h[0, 1, k], 1e-4f);
        }
    }

    [Fact]
    public void HfDirectory_SaveAndReload_GivesIdenticalOutputs()
    {
        var dir = Path.Combine(Path.GetTempPath(), "minilm-hf-" + Guid.NewGuid().ToString("N"));
        try
        {
            BertWeights.SaveHfDirectory(fx.Model, dir, MiniLm.VocabularyLines());
            Assert.True(File.Exists(Path.Combine(dir, "config.json")));
            Assert.Equal(30522, File.ReadAllLines(Path.Combine(dir, "vocab.txt")).Length);
            using var reloaded = BertWeights.LoadHfDirectory(dir);
            var (ids, mask) = fx.Encode(Sentences[..8]);
            using var _ = no_grad();
            using var a = fx.Model.Forward(tensor(ids), tensor(mask)).LastHiddenState;
            using var b = reloaded.Forward(tensor(ids), tensor(mask)).LastHiddenState;
            Assert.Equal(0f, (a - b).abs().max().item<float>()); // bit-identical
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double[] MeanPoolNormalized(float[,,] h, long[,] mask, int b)
    {
        var v = new double[384];
        int n = 0;
        for (int t = 0; t < mask.GetLength(1); t++)
        {
            if (mask[b, t] == 0) continue;
            n++;
            for (int k = 0; k < 384; k++) v[k] += h[b, t, k];
        }
        double norm = Math.Sqrt(v.Sum(x => x * x / ((double)n * n)));
        return v.Select(x => x / n / norm).ToArray();
    }
}
