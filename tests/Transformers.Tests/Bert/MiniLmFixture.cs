using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Transformers.Bert;
using static TorchSharp.torch;

namespace Transformers.Tests.Bert;

/// <summary>
/// The built-in all-MiniLM-L6-v2 twice: imported into our BertModel, and run as is by ONNX Runtime (the reference).
/// Loaded once for all tests of the collection (the file is 90 MB).
/// </summary>
public sealed class MiniLmFixture : IDisposable
{
    public BertModel Model { get; }
    public InferenceSession Reference { get; }
    public Transformers.Tokenizer.WordPieceTokenizer Tokenizer { get; }
    public byte[] OnnxBytes { get; }

    public MiniLmFixture()
    {
        OnnxBytes = MiniLm.ReadResource("model.onnx");
        Model = BertWeights.FromOnnx(Transformers.Onnx.OnnxModel.Parse(OnnxBytes, "model.onnx"), MiniLm.Config);
        var options = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 };
        Reference = new InferenceSession(OnnxBytes, options);
        // Our WordPiece tokenizer (its own tests prove it equal to HF's BertTokenizer on this vocabulary).
        Tokenizer = MiniLm.CreateTokenizer();
    }

    /// <summary>Token ids with [CLS] ... [SEP], padded with 0 into [batch, maxLen]; mask 1 on tokens.</summary>
    public (long[,] Ids, long[,] Mask) Encode(IReadOnlyList<string> sentences)
    {
        var ids = sentences.Select(s => Tokenizer.Encode(s).Ids).ToArray();
        int max = ids.Max(x => x.Length);
        var idArr = new long[sentences.Count, max];
        var maskArr = new long[sentences.Count, max];
        for (int b = 0; b < ids.Length; b++)
            for (int t = 0; t < ids[b].Length; t++) { idArr[b, t] = ids[b][t]; maskArr[b, t] = 1; }
        return (idArr, maskArr);
    }

    /// <summary>ONNX Runtime's last_hidden_state for the batch: [batch, seq, 384].</summary>
    public float[,,] RunReference(long[,] ids, long[,] mask)
    {
        int b = ids.GetLength(0), t = ids.GetLength(1);
        var dims = new[] { b, t };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids.Cast<long>().ToArray(), dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask.Cast<long>().ToArray(), dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[b * t], dims)),
        };
        using var results = Reference.Run(inputs, ["last_hidden_state"]);
        var outT = results.First().AsTensor<float>();
        var arr = new float[b, t, 384];
        for (int i = 0; i < b; i++) for (int j = 0; j < t; j++) for (int k = 0; k < 384; k++) arr[i, j, k] = outT[i, j, k];
        return arr;
    }

    /// <summary>Our last_hidden_state for the batch: [batch, seq, 384].</summary>
    public float[,,] RunOurs(long[,] ids, long[,] mask)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var output = Model.Forward(tensor(ids), tensor(mask));
        int b = ids.GetLength(0), t = ids.GetLength(1);
        var flat = output.LastHiddenState.contiguous().data<float>().ToArray();
        var arr = new float[b, t, 384];
        Buffer.BlockCopy(flat, 0, arr, 0, flat.Length * sizeof(float));
        return arr;
    }

    public void Dispose()
    {
        Reference.Dispose();
        Model.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class MiniLmCollection : ICollectionFixture<MiniLmFixture>
{
    public const string Name = "MiniLM";
}
