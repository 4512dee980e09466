using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using TorchSharp.PyBridge;
using Transformers.Onnx;
using Transformers.Modules;
using static TorchSharp.torch;

namespace Transformers.Bert;

/// <summary>
/// Moves BERT weights in and out of <see cref="BertModel"/> under HF's parameter names:
/// all-MiniLM-L6-v2's ONNX file, and HF checkpoint directories (config.json + model.safetensors or
/// pytorch_model.bin + vocab.txt). Every load is strict: a file that does not fit the config fails with the
/// complete list of missing, unexpected and mis-shaped tensors.
/// </summary>
public static partial class BertWeights
{
    // Our module names -> HF's, for the parts of a layer that HF nests differently (attention.self.query etc.).
    private static readonly (Regex Ours, string Hf)[] OursToHf =
    [
        (new(@"^encoder\.layer\.(\d+)\.self_attn\.(query|key|value)\."), "encoder.layer.$1.attention.self.$2."),
        (new(@"^encoder\.layer\.(\d+)\.self_attn\.output\."), "encoder.layer.$1.attention.output.dense."),
        (new(@"^encoder\.layer\.(\d+)\.self_attn_norm\."), "encoder.layer.$1.attention.output.LayerNorm."),
        (new(@"^encoder\.layer\.(\d+)\.ffn\.w1\."), "encoder.layer.$1.intermediate.dense."),
        (new(@"^encoder\.layer\.(\d+)\.ffn\.w2\."), "encoder.layer.$1.output.dense."),
        (new(@"^encoder\.layer\.(\d+)\.ffn_norm\."), "encoder.layer.$1.output.LayerNorm."),
    ];

    /// <summary>Our parameter name -> HF's (e.g. encoder.layer.0.self_attn.query.weight -> encoder.layer.0.attention.self.query.weight).</summary>
    public static string ToHfName(string ours)
    {
        foreach (var (re, hf) in OursToHf)
            if (re.IsMatch(ours)) return re.Replace(ours, hf, 1);
        return ours;
    }

    /// <summary>HF names ignored on load: buffers HF keeps in some checkpoints, and pretraining heads a BertModel has no use for.</summary>
    private static bool IgnoredOnLoad(string hfName) =>
        hfName == "embeddings.position_ids" || hfName.StartsWith("cls.") || hfName.StartsWith("embeddings.position_ids");

    /// <summary>The model's parameters under HF names.</summary>
    public static Dictionary<string, Tensor> HfStateDict(BertModel model) =>
        model.state_dict().ToDictionary(kv => ToHfName(kv.Key), kv => kv.Value);

    /// <summary>
    /// Copies <paramref name="weights"/> (HF names) into <paramref name="model"/>. Throws an <see cref="InvalidDataException"/>
    /// naming <paramref name="source"/> and every missing, unexpected or mis-shaped tensor if they do not fit.
    /// </summary>
    public static void Load(BertModel model, IReadOnlyDictionary<string, Tensor> weights, string source) =>
        StateDicts.LoadStrict(model, weights, source, ToHfName, k => IgnoredOnLoad(StripPrefix(k)),
            $"BERT config (hidden {model.Config.HiddenSize}, layers {model.Config.NumHiddenLayers}, vocab {model.Config.VocabSize})");

    private static string StripPrefix(string name) => name.StartsWith("bert.") ? name[5..] : name;

    // ---------------------------------------------------------------- ONNX

    /// <summary>
    /// Builds a <see cref="BertModel"/> from an ONNX export of an HF BERT (as all-MiniLM-L6-v2's model.onnx).
    /// Biases, LayerNorms and embeddings keep their HF names in the graph; each dense weight is a numbered initializer
    /// used as the right operand of a MatMul (stored [in, out], the transpose of nn.Linear's [out, in]) whose output
    /// feeds an Add with the named bias: we follow MatMul -> Add to name it. Gemm nodes (the pooler) carry named
    /// weights, transposed unless transB = 1.
    /// </summary>
    public static BertModel FromOnnx(OnnxModel onnx, BertConfig config)
    {
        var weights = OnnxWeights(onnx);
        try
        {
            var model = new BertModel(config);
            Load(model, weights, onnx.Source);
            LinearLayout.UseInputMajorStorage(model);              // ORT's own layout: 2-2.5x at batch 1 (speed/minilm-transposed.md)
            model.eval();
            return model;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>The built-in all-MiniLM-L6-v2, in eval mode, its dense weights lying [in, out] (<see cref="LinearLayout"/>).</summary>
    public static BertModel LoadMiniLm() =>
        FromOnnx(OnnxModel.Parse(MiniLm.ReadResource("model.onnx"), $"{MiniLm.AssemblyFileName}:model.onnx"), MiniLm.Config);

    /// <summary>The graph's weights under HF names (dense weights recovered and transposed to nn.Linear's layout).</summary>
    public static Dictionary<string, Tensor> OnnxWeights(OnnxModel onnx)
    {
        var result = new Dictionary<string, Tensor>();
        var consumers = new Dictionary<string, List<OnnxNode>>();
        foreach (var node in onnx.Nodes)
            foreach (var input in node.Inputs)
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(node);

        foreach (var t in onnx.Initializers.Values)
            if (t.DataType == OnnxTensor.Float && LooksLikeParameterName(t.Name))
                result[t.Name] = ToTensor(t, transpose: false);

        foreach (var node in onnx.Nodes)
        {
            if (node.OpType == "MatMul" && node.Inputs.Length == 2 && onnx.Initializers.TryGetValue(node.Inputs[1], out var w)
                && !LooksLikeParameterName(w.Name))
            {
                var add = consumers.GetValueOrDefault(node.Outputs[0])?.FirstOrDefault(n => n.OpType == "Add");
                var bias = add?.Inputs.FirstOrDefault(i => i.EndsWith(".bias") && onnx.Initializers.ContainsKey(i));
                if (bias is null)
                    throw new InvalidDataException($"{onnx.Source}: MatMul node '{node.Name}' with weight '{w.Name}' is not followed by an Add of a named bias; cannot name the weight");
                result[bias[..^".bias".Length] + ".weight"] = ToTensor(w, transpose: true);
            }
            else if (node.OpType == "Gemm" && node.Inputs.Length >= 2 && onnx.Initializers.TryGetValue(node.Inputs[1], out var g)
                     && LooksLikeParameterName(g.Name))
            {
                bool transB = node.IntAttributes.GetValueOrDefault("transB") == 1;
                result[g.Name].Dispose();
                result[g.Name] = ToTensor(g, transpose: !transB);
            }
        }
        return result;
    }

    private static bool LooksLikeParameterName(string name) => name.EndsWith(".weight") || name.EndsWith(".bias");

    private static Tensor ToTensor(OnnxTensor t, bool transpose)
    {
        var x = tensor(t.Floats!, t.Dims);
        if (!transpose) return x;
        if (t.Dims.Length != 2) throw new InvalidDataException($"ONNX weight '{t.Name}' is {t.Dims.Length}-d; a dense weight must be 2-d");
        using (x) return x.t().contiguous();
    }

    // ---------------------------------------------------------------- HF checkpoint directories

    /// <summary>
    /// Loads an HF BERT checkpoint directory: config.json and model.safetensors (or pytorch_model.bin).
    /// Names with a "bert." prefix (BertForMaskedLM etc.) are accepted; pretraining heads are ignored.
    /// </summary>
    public static BertModel LoadHfDirectory(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"HF checkpoint directory not found: {dir}");
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{dir} has no config.json", configPath);
        var config = BertConfig.Load(configPath);
        var safetensors = Path.Combine(dir, "model.safetensors");
        var bin = Path.Combine(dir, "pytorch_model.bin");
        Dictionary<string, Tensor> raw;
        string source;
        try
        {
            if (File.Exists(safetensors)) { source = safetensors; raw = Safetensors.LoadStateDict(safetensors); }
            else if (File.Exists(bin))
            {
                source = bin;
                raw = PyTorchUnpickler.UnpickleStateDict(bin).Cast<System.Collections.DictionaryEntry>()
                    .ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
            }
            else throw new FileNotFoundException($"{dir} has neither model.safetensors nor pytorch_model.bin");
        }
        catch (Exception e) when (e is not FileNotFoundException and not InvalidDataException)
        {
            throw new InvalidDataException($"{dir}: cannot read the weights file ({e.GetType().Name}: {e.Message}); is it truncated?", e);
        }
        var weights = raw.ToDictionary(kv => StripPrefix(kv.Key), kv => kv.Value);
        try
        {
            var model = new BertModel(config);
            Load(model, weights, source);
            model.eval();
            return model;
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Saves an HF checkpoint directory: config.json, model.safetensors (HF names) and, when given, vocab.txt.
    /// Each file is written to a temporary name and renamed, so an interrupted save never leaves a half-written file.
    /// </summary>
    public static void SaveHfDirectory(BertModel model, string dir, IEnumerable<string>? vocabulary = null)
    {
        Directory.CreateDirectory(dir);
        var config = model.Config with { ModelType = "bert" };
        AtomicFile.Write(Path.Combine(dir, "config.json"), path => File.WriteAllText(path, config.ToJson(), new UTF8Encoding(false)));
        var state = HfStateDict(model).ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous());
        AtomicFile.Write(Path.Combine(dir, "model.safetensors"), path => Safetensors.SaveStateDict(path, state));
        if (vocabulary is not null)
            AtomicFile.Write(Path.Combine(dir, "vocab.txt"), path => File.WriteAllLines(path, vocabulary, new UTF8Encoding(false)));
    }

}
