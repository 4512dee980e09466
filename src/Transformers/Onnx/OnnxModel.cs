using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Transformers.Onnx;

/// <summary>An ONNX tensor: dims, element type and its data as float32 (the only element type weights need here) or int64.</summary>
public sealed record OnnxTensor(string Name, long[] Dims, int DataType, float[]? Floats, long[]? Int64s)
{
    public const int Float = 1, Int32 = 6, Int64 = 7;
    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);
}

/// <summary>An ONNX node: operator, inputs, outputs and its integer attributes (enough to follow a BERT graph).</summary>
public sealed record OnnxNode(string Name, string OpType, string[] Inputs, string[] Outputs, IReadOnlyDictionary<string, long> IntAttributes);

/// <summary>
/// The parts of an ONNX ModelProto that weight import needs: the graph's nodes, initializers, inputs and outputs.
/// Parsed with Google.Protobuf's wire-format reader against the field numbers of onnx.proto
/// (ModelProto.graph = 7; GraphProto.node = 1, initializer = 5, input = 11, output = 12;
/// NodeProto.input = 1, output = 2, name = 3, op_type = 4, attribute = 5; AttributeProto.name = 1, i = 3;
/// TensorProto.dims = 1, data_type = 2, float_data = 4, int64_data = 7, name = 8, raw_data = 9, data_location = 14;
/// ValueInfoProto.name = 1). Unknown fields are skipped, as protobuf requires.
/// </summary>
public sealed class OnnxModel
{
    public required string Source { get; init; }
    public required IReadOnlyList<OnnxNode> Nodes { get; init; }
    public required IReadOnlyDictionary<string, OnnxTensor> Initializers { get; init; }
    public required IReadOnlyList<string> Inputs { get; init; }
    public required IReadOnlyList<string> Outputs { get; init; }

    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file not found: {path}", path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses a serialized ModelProto; <paramref name="source"/> names it in errors.</summary>
    public static OnnxModel Parse(byte[] bytes, string source)
    {
        try
        {
            return ParseModel(bytes, source);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{source}: not a valid ONNX model (protobuf error: {e.Message}); is the file truncated or of another format?", e);
        }
    }

    private static OnnxModel ParseModel(byte[] bytes, string source)
    {
        if (bytes.Length == 0) throw new InvalidDataException($"{source}: empty file, not an ONNX model");
        ByteString? graph = null;
        long irVersion = 0;
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint: irVersion = input.ReadInt64(); break;
                case 7 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: graph = input.ReadBytes(); break;
                default: input.SkipLastField(); break;
            }
        }
        if (graph is null || irVersion <= 0)
            throw new InvalidDataException($"{source}: not an ONNX model (no ir_version or no graph in the protobuf message)");

        var nodes = new List<OnnxNode>();
        var inits = new Dictionary<string, OnnxTensor>();
        var inputs = new List<string>();
        var outputs = new List<string>();
        var g = Reader(graph);
        while ((tag = g.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: nodes.Add(ParseNode(g.ReadBytes())); break;
                case 5: var t = ParseTensor(g.ReadBytes(), source); inits[t.Name] = t; break;
                case 11: inputs.Add(ParseValueInfoName(g.ReadBytes())); break;
                case 12: outputs.Add(ParseValueInfoName(g.ReadBytes())); break;
                default: g.SkipLastField(); break;
            }
        }
        if (nodes.Count == 0) throw new InvalidDataException($"{source}: ONNX graph has no nodes");
        return new OnnxModel { Source = source, Nodes = nodes, Initializers = inits, Inputs = inputs, Outputs = outputs };
    }

    private static CodedInputStream Reader(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var seg)
            ? new CodedInputStream(seg.Array!, seg.Offset, seg.Count)
            : new CodedInputStream(bytes.ToByteArray());

    private static OnnxNode ParseNode(ByteString bytes)
    {
        string name = "", op = "";
        var ins = new List<string>();
        var outs = new List<string>();
        var attrs = new Dictionary<string, long>();
        var r = Reader(bytes);
        uint tag;
        while ((tag = r.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: ins.Add(r.ReadString()); break;
                case 2: outs.Add(r.ReadString()); break;
                case 3: name = r.ReadString(); break;
                case 4: op = r.ReadString(); break;
                case 5:
                    var (attrName, value) = ParseIntAttribute(r.ReadBytes());
                    if (value is long v) attrs[attrName] = v;
                    break;
                default: r.SkipLastField(); break;
            }
        }
        return new OnnxNode(name, op, ins.ToArray(), outs.ToArray(), attrs);
    }

    private static (string Name, long? Value) ParseIntAttribute(ByteString bytes)
    {
        string name = "";
        long? value = null;
        var r = Reader(bytes);
        uint tag;
        while ((tag = r.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = r.ReadString(); break;
                case 3 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint: value = r.ReadInt64(); break;
                default: r.SkipLastField(); break;
            }
        }
        return (name, value);
    }

    private static string ParseValueInfoName(ByteString bytes)
    {
        var r = Reader(bytes);
        uint tag;
        while ((tag = r.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) return r.ReadString();
            r.SkipLastField();
        }
        return "";
    }

    private static OnnxTensor ParseTensor(ByteString bytes, string source)
    {
        var dims = new List<long>();
        int dataType = 0;
        string name = "";
        ByteString? raw = null;
        var floats = new List<float>();
        var longs = new List<long>();
        bool external = false;
        var r = Reader(bytes);
        uint tag;
        while ((tag = r.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            bool packed = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (field)
            {
                case 1: ReadRepeated(r, packed, () => dims.Add(r.ReadInt64())); break;
                case 2: dataType = r.ReadInt32(); break;
                case 4: ReadRepeated(r, packed, () => floats.Add(r.ReadFloat())); break;
                case 7: ReadRepeated(r, packed, () => longs.Add(r.ReadInt64())); break;
                case 8: name = r.ReadString(); break;
                case 9: raw = r.ReadBytes(); break;
                case 14: external = r.ReadEnum() == 1; break;
                default: r.SkipLastField(); break;
            }
        }
        if (external)
            throw new InvalidDataException($"{source}: tensor '{name}' keeps its data in an external file, which is not supported");
        long count = dims.Aggregate(1L, (a, b) => a * b);
        float[]? f = null;
        long[]? l = null;
        switch (dataType)
        {
            case OnnxTensor.Float:
                f = raw is not null ? MemoryMarshal.Cast<byte, float>(raw.Span).ToArray() : floats.ToArray();
                if (f.Length != count)
                    throw new InvalidDataException($"{source}: tensor '{name}' has {f.Length} floats, its dims [{string.Join(", ", dims)}] need {count}");
                break;
            case OnnxTensor.Int64:
                l = raw is not null ? MemoryMarshal.Cast<byte, long>(raw.Span).ToArray() : longs.ToArray();
                break;
            case OnnxTensor.Int32:
                l = raw is not null ? MemoryMarshal.Cast<byte, int>(raw.Span).ToArray().Select(x => (long)x).ToArray() : longs.ToArray();
                break;
        }
        return new OnnxTensor(name, dims.ToArray(), dataType, f, l);
    }

    private static void ReadRepeated(CodedInputStream r, bool packed, Action readOne)
    {
        if (!packed) { readOne(); return; }
        // A packed field: a length-delimited run of values. Read its bytes and parse them with a sub-reader.
        int length = r.ReadLength();
        var end = r.Position + length;
        while (r.Position < end) readOne();
    }
}
