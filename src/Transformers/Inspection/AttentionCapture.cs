using Transformers.Bert;
using Transformers.Data;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Inspection;

/// <summary>Token ids of one sentence, the token strings shown for them, and what was done to fit them (truncation).</summary>
public sealed record InspectionInput(long[] Ids, string[] Tokens, IReadOnlyList<string> Notes);

/// <summary>
/// Runs a model once on one sentence with attention capture on and turns every probability tensor into an
/// <see cref="AttentionRecord"/>. Models without per-head attention are refused with a message that says so.
/// </summary>
public static class AttentionCapture
{
    /// <summary>
    /// BERT-style text: tokenizes (with [CLS]/[SEP]), names every id by its vocabulary line, and truncates to
    /// <paramref name="maxTokens"/> keeping the final [SEP] (a note says how many word pieces were dropped).
    /// Empty or blank text is an error.
    /// </summary>
    public static InspectionInput PrepareBertText(string text, Func<string, int[]> tokenizeWithSpecialTokens,
                                                  IReadOnlyList<string> vocabulary, int maxTokens)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException("the text is empty: give at least one word to inspect");
        if (maxTokens < 2) throw new ArgumentException($"maxTokens {maxTokens} must leave room for [CLS] and [SEP]");
        var ids = tokenizeWithSpecialTokens(text);
        if (ids.Length <= 2) throw new ArgumentException($"the text \"{text}\" gives no word pieces besides [CLS] and [SEP]");
        var notes = new List<string>();
        if (ids.Length > maxTokens)
        {
            notes.Add($"The text has {ids.Length} word pieces (with [CLS] and [SEP]); the model takes at most {maxTokens}, " +
                      $"so it was truncated to the first {maxTokens - 1} and the final [SEP] ({ids.Length - maxTokens} dropped).");
            ids = [.. ids[..(maxTokens - 1)], ids[^1]];
        }
        var tokens = ids.Select(id => id >= 0 && id < vocabulary.Count ? vocabulary[id] : $"<id {id}>").ToArray();
        return new InspectionInput(ids.Select(i => (long)i).ToArray(), tokens, notes);
    }

    /// <summary>
    /// Translator text: tokenized by <paramref name="encode"/> (no special tokens), each id named by its vocabulary line,
    /// truncated to <paramref name="maxTokens"/> (a note says so). Empty or blank text is an error.
    /// </summary>
    public static InspectionInput PrepareText(string text, Func<string, int[]> encode, IReadOnlyList<string> vocabulary, int maxTokens, string side)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"the {side} text is empty: give at least one word");
        var ids = encode(text);
        var notes = new List<string>();
        if (ids.Length > maxTokens)
        {
            notes.Add($"The {side} has {ids.Length} word pieces; the model takes at most {maxTokens}, so it was truncated to the first {maxTokens}.");
            ids = ids[..maxTokens];
        }
        return new InspectionInput(ids.Select(i => (long)i).ToArray(), ids.Select(i => vocabulary[i]).ToArray(), notes);
    }

    /// <summary>
    /// Pre-tokenized translator text: whitespace-separated tokens looked up in <paramref name="vocabulary"/> (unknown
    /// ones become UNK and are listed in a note), truncated to <paramref name="maxTokens"/>. No special tokens added.
    /// </summary>
    public static InspectionInput PreparePretokenized(string text, IReadOnlyList<string> vocabulary, long unkId, int maxTokens, string side)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"the {side} text is empty: give at least one token");
        var index = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++) index.TryAdd(vocabulary[i], i);
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var notes = new List<string>();
        if (words.Length > maxTokens)
        {
            notes.Add($"The {side} has {words.Length} tokens; the model takes at most {maxTokens}, so it was truncated to the first {maxTokens}.");
            words = words[..maxTokens];
        }
        var unknown = words.Where(w => !index.ContainsKey(w)).Distinct().ToArray();
        if (unknown.Length > 0)
            notes.Add($"{side} tokens not in the vocabulary (shown as {vocabulary[(int)unkId]}): {string.Join(" ", unknown.Take(20))}{(unknown.Length > 20 ? " ..." : "")}");
        var ids = words.Select(w => index.GetValueOrDefault(w, unkId)).ToArray();
        return new InspectionInput(ids, ids.Select(i => vocabulary[(int)i]).ToArray(), notes);
    }

    /// <summary>BERT self-attention of one sentence. ids: [seq] with special tokens; tokens: one string per id.</summary>
    public static AttentionRecord FromBert(BertModel model, InspectionInput input, string modelName)
    {
        if (input.Ids.Length != input.Tokens.Length)
            throw new ArgumentException($"{input.Ids.Length} ids but {input.Tokens.Length} token strings");
        if (input.Ids.Length > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"{input.Ids.Length} tokens exceed the model's maximum of {model.Config.MaxPositionEmbeddings}; prepare the input with truncation");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(input.Ids, device: model.WordEmbeddings.device).unsqueeze(0);              // [1, seq]
        var output = model.Forward(ids, outputs: BertOutputs.Attentions);
        var attentions = output.Attentions ?? throw new InvalidOperationException("the BERT model returned no attention probabilities");
        var layers = attentions.Select((p, i) => ToLayer(AttentionKind.EncoderSelf, i, p)).ToArray();
        return new AttentionRecord { Model = modelName, SourceTokens = input.Tokens, Layers = layers, Notes = input.Notes }.Validate();
    }

    /// <summary>
    /// Teacher-forced run of a translator on one pair. source: token ids without EOS (EOS is appended); target: ids
    /// without BOS/EOS (the decoder reads BOS + target). Tokens shown: source + EOS, BOS + target.
    /// Only models that expose per-head attention are accepted: today <see cref="TransformerTranslator"/>; recurrent
    /// translators add a case producing <see cref="AttentionKind.Recurrent"/> layers (1 head) and <see cref="GateTrace"/>s.
    /// </summary>
    public static AttentionRecord FromTranslator(Seq2SeqModel model, IReadOnlyList<string> vocabulary, InspectionInput source,
                                                 InspectionInput target, string modelName)
    {
        if (!model.HasAttention)
            throw new ArgumentException($"the '{model.ArchitectureName}' model ({model.GetType().Name}) does not expose its attention " +
                                        "probabilities, so its heads cannot be inspected");
        if (source.Ids.Length + 1 > model.MaxLength || target.Ids.Length + 1 > model.MaxLength)
            throw new ArgumentException($"source ({source.Ids.Length} + EOS) or target ({target.Ids.Length} + BOS) exceeds the model's maximum length {model.MaxLength}");
        var special = model.Special;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = model.parameters().First().device;
        var batch = new TranslationBatch([source.Ids.Select(i => (int)i).ToArray()], [target.Ids.Select(i => (int)i).ToArray()]).ToTensors(special, device);
        var attention = model.ForwardWithAttention(batch.Source, batch.SourceMask, batch.TargetIn).Attention
            ?? throw new ArgumentException($"the '{model.ArchitectureName}' model returned no attention probabilities");
        // Recurrent translators report their one attention (decoder over encoder states) as cross-attention with one head.
        var crossKind = model is TransformerTranslator ? AttentionKind.Cross : AttentionKind.Recurrent;
        var layers = new List<AttentionLayer>();
        layers.AddRange(attention.EncoderSelf.Select((p, i) => ToLayer(AttentionKind.EncoderSelf, i, p)));
        layers.AddRange(attention.DecoderSelf.Select((p, i) => ToLayer(AttentionKind.DecoderSelf, i, p)));
        layers.AddRange(attention.Cross.Select((p, i) => ToLayer(crossKind, i, p)));
        var gates = model is RecurrentTranslator recurrent ? GateTraces(recurrent, batch) : [];
        return new AttentionRecord
        {
            Model = modelName,
            Gates = gates,
            SourceTokens = [.. source.Tokens, vocabulary[(int)special.Eos]],
            TargetTokens = [vocabulary[(int)special.Bos], .. target.Tokens],
            Layers = layers,
            Notes = [.. source.Notes, .. target.Notes],
        }.Validate();
    }

    /// <summary>LSTM/GRU/RNN gate activations over time of a one-sentence batch, named as PyTorch does (i f g o c, r z n, h).</summary>
    private static List<GateTrace> GateTraces(RecurrentTranslator model, BatchTensors batch)
    {
        var (encoder, decoder) = model.TraceGates(batch.Source, batch.SourceMask, batch.TargetIn);
        var cell = model.Config.Cell;
        var result = new List<GateTrace>();
        void Add(Recurrent.RecurrentTrace trace, string side)
        {
            foreach (var d in trace.Directions)
            {
                var name = d.Direction == Recurrent.Direction.Backward ? side + "-backward" : side;
                var gates = d.Gates.ToDictionary(g => GateName(g.Key, cell), g => g.Value[0].detach().cpu().contiguous().data<float>().ToArray());
                var any = d.Gates.Values.First();                                                 // [1, steps, units]
                result.Add(new GateTrace(model.ArchitectureName, name, d.Layer, (int)any.shape[1], (int)any.shape[2], gates));
            }
        }
        Add(encoder, "encoder");
        if (decoder is not null) Add(decoder, "decoder");
        return result;
    }

    private static string GateName(Recurrent.Gate gate, Recurrent.RecurrentCellKind cell) => gate switch
    {
        Recurrent.Gate.Input => "i",
        Recurrent.Gate.Forget => "f",
        Recurrent.Gate.Candidate => cell == Recurrent.RecurrentCellKind.Gru ? "n" : "g",
        Recurrent.Gate.Output => "o",
        Recurrent.Gate.CellState => "c",
        Recurrent.Gate.Reset => "r",
        Recurrent.Gate.Update => "z",
        Recurrent.Gate.Hidden => "h",
        _ => gate.ToString(),
    };

    /// <summary>probs: [1, heads, queries, keys] -> one layer of the record.</summary>
    public static AttentionLayer ToLayer(AttentionKind kind, int layer, Tensor probs)
    {
        if (probs.dim() != 4 || probs.shape[0] != 1)
            throw new ArgumentException($"attention probabilities must be [1, heads, queries, keys]; got [{string.Join(", ", probs.shape)}]");
        var data = probs.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        return new AttentionLayer(kind, layer, (int)probs.shape[1], (int)probs.shape[2], (int)probs.shape[3], data);
    }
}
