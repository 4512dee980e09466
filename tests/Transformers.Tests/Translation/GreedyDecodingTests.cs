using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>The shared greedy decoder against a scripted model: what it emits, when it stops, what it feeds back.</summary>
public sealed class GreedyDecodingTests
{
    private const long Pad = 0, Bos = 1, Eos = 2;

    /// <summary>
    /// A model that "predicts" a fixed script per sentence (step t: token script[b][t], or the last one repeated), and
    /// records every token it was fed.
    /// </summary>
    private sealed class ScriptedModel(long[][] script) : Seq2SeqModel("Scripted")
    {
        public List<long[]> Fed { get; } = [];
        public override int VocabSize => 10;
        public override SpecialTokens Special => new(Pad, Bos, Eos, 3);
        public override int MaxLength => 64;
        public override TranslatorArchitecture Architecture => TranslatorArchitecture.Transformer;   // a stand-in: never saved
        public override string ConfigJson() => "{}";
        public override Tensor Forward(Tensor src, Tensor srcMask, Tensor tgtIn) => throw new NotSupportedException();
        public override EncoderOutput Encode(Tensor src, Tensor srcMask) => new(zeros(src.shape[0], src.shape[1], 1), srcMask);
        public override DecoderState StartDecoding(EncoderOutput encoded) => new Counter();

        public override Tensor DecodeStep(Tensor prevTokens, DecoderState state)
        {
            // prevTokens: [batch] -> log-probabilities [batch, vocab], the scripted token 10 nats above every other
            Fed.Add(prevTokens.data<long>().ToArray());
            int t = state.Step;
            ((Counter)state).Advance();
            var logits = zeros(script.Length, VocabSize);
            for (int b = 0; b < script.Length; b++) logits[b, script[b][Math.Min(t, script[b].Length - 1)]] = 10;
            return logits.log_softmax(-1);
        }

        private sealed class Counter : DecoderState
        {
            public void Advance() => Step++;
            public override void Select(Tensor batchIndices) { }
            public override void Dispose() { }
        }
    }

    [Fact]
    public void Greedy_StopsAtEos_FeedsPaddingAfterwards_AndCutsARunawayAtTheLengthLimit()
    {
        // Sentence 0 ends after two tokens; 1 at once; 2 never (a loop of 7s, as an undertrained model writes).
        using var model = new ScriptedModel([[5, 6, Eos, 7], [Eos, 8], [7]]);
        var src = tensor(new long[,] { { 4, 4, 4, Eos }, { 4, Eos, Pad, Pad }, { 4, Eos, Pad, Pad } });
        var output = Decoder.Translate(model, src, src.ne(Pad), new DecodingOptions { MaxLengthRatio = 1.5, MaxLengthOffset = 2 });
        Assert.Equal([5, 6], output[0][0].Tokens);                                 // EOS ends the hypothesis and is not part of it
        Assert.Empty(output[1][0].Tokens);
        Assert.Equal(Enumerable.Repeat(7, 5), output[2][0].Tokens);              // floor(1.5 · 2) + 2 = 5 tokens, then EOS is forced
        Assert.Equal(6, model.Fed.Count);                                        // steps 0..5: the limit's forced EOS is the last
        Assert.Equal([Bos, Bos, Bos], model.Fed[0]);
        Assert.Equal([5, Eos, 7], model.Fed[1]);                                 // sentence 1 is done: its EOS is fed once...
        Assert.Equal([6, Pad, 7], model.Fed[2]);                                 // ...then padding
        Assert.Equal([Pad, Pad, 7], model.Fed[4]);
    }

    [Fact]
    public void Greedy_StopsCallingTheModel_OnceEverySentenceHasItsEos()
    {
        using var model = new ScriptedModel([[5, 6, Eos, 7], [Eos, 8]]);
        var src = tensor(new long[,] { { 4, 4, 4, Eos }, { 4, Eos, Pad, Pad } });
        var output = Decoder.Translate(model, src, src.ne(Pad), new DecodingOptions());
        Assert.Equal([5, 6], output[0][0].Tokens);
        Assert.Equal(3, model.Fed.Count);                                        // BOS, 5, 6: nothing after the last EOS
    }
}
