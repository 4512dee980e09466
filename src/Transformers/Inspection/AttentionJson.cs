using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Transformers.Inspection;

/// <summary>
/// Writes the heads report as JSON (format "transformers.heads", documented in docs/attention-record.md): the record,
/// the per-head statistics and the importance matrices. Probabilities and statistics are rounded to
/// <see cref="Decimals"/> decimals to keep files small. Strings are escaped with the default encoder, which also
/// escapes &lt; &gt; &amp; ' and +, so the text can be embedded in HTML.
/// </summary>
public static class AttentionJson
{
    public const string Format = "transformers.heads";
    public const int Version = 1;
    public const int Decimals = 4;

    public static string Serialize(AttentionRecord record, IReadOnlyList<HeadStatistics> statistics,
                                   IReadOnlyList<ImportanceMatrix> importance, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.Default }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("version", Version);
            w.WriteString("model", record.Model);
            w.WritePropertyName("tokens");
            w.WriteStartObject();
            WriteStrings(w, "source", record.SourceTokens);
            if (record.TargetTokens is { } target) WriteStrings(w, "target", target);
            else w.WriteNull("target");
            w.WriteEndObject();
            WriteStrings(w, "notes", record.Notes);
            w.WriteStartArray("attention");
            foreach (var layer in record.Layers) WriteLayer(w, layer);
            w.WriteEndArray();
            w.WriteStartArray("gates");
            foreach (var g in record.Gates) WriteGates(w, g);
            w.WriteEndArray();
            WriteStatistics(w, statistics);
            WriteImportance(w, importance);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static void Write(string path, AttentionRecord record, IReadOnlyList<HeadStatistics> statistics, IReadOnlyList<ImportanceMatrix> importance) =>
        AtomicFile.Write(path, tmp => File.WriteAllText(tmp, Serialize(record, statistics, importance), new UTF8Encoding(false)));

    /// <summary>Rounds to <see cref="Decimals"/> places (the shortest round-trip form is what is written).</summary>
    public static double Round(double v) => Math.Round(v, Decimals, MidpointRounding.AwayFromZero);

    internal static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void WriteLayer(Utf8JsonWriter w, AttentionLayer layer)
    {
        w.WriteStartObject();
        w.WriteString("kind", AttentionKinds.Name(layer.Kind));
        w.WriteNumber("layer", layer.Layer);
        w.WriteNumber("heads", layer.Heads);
        w.WriteNumber("queries", layer.Queries);
        w.WriteNumber("keys", layer.Keys);
        w.WriteStartArray("probabilities");                       // [heads][queries][keys]
        for (int h = 0; h < layer.Heads; h++)
        {
            w.WriteStartArray();
            for (int q = 0; q < layer.Queries; q++)
            {
                w.WriteStartArray();
                foreach (var p in layer.Row(h, q)) w.WriteNumberValue(Round(p));
                w.WriteEndArray();
            }
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>What identifies a gate trace, in the record's JSON and the viewer's data alike: cell, side, layer, steps, units.</summary>
    internal static void WriteGateTraceHeader(Utf8JsonWriter w, GateTrace g)
    {
        w.WriteString("cell", g.Cell);
        w.WriteString("side", g.Side);
        w.WriteNumber("layer", g.Layer);
        w.WriteNumber("steps", g.Steps);
        w.WriteNumber("units", g.Units);
    }

    private static void WriteGates(Utf8JsonWriter w, GateTrace g)
    {
        w.WriteStartObject();
        WriteGateTraceHeader(w, g);
        w.WritePropertyName("values");
        w.WriteStartObject();
        foreach (var (gate, values) in g.Gates)
        {
            w.WriteStartArray(gate);                              // [steps][units]
            for (int t = 0; t < g.Steps; t++)
            {
                w.WriteStartArray();
                for (int u = 0; u < g.Units; u++) w.WriteNumberValue(Round(values[t * g.Units + u]));
                w.WriteEndArray();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    internal static void WriteStatistics(Utf8JsonWriter w, IReadOnlyList<HeadStatistics> statistics)
    {
        w.WriteStartArray("statistics");
        foreach (var s in statistics)
        {
            w.WriteStartObject();
            w.WriteString("kind", AttentionKinds.Name(s.Kind));
            w.WriteNumber("layer", s.Layer);
            w.WriteNumber("head", s.Head);
            w.WriteNumber("entropy", Round(s.Entropy));
            WriteOptional(w, "mean_distance", s.MeanDistance);
            w.WriteNumber("cls", Round(s.Cls));
            w.WriteNumber("sep", Round(s.Sep));
            w.WriteNumber("punctuation", Round(s.Punctuation));
            WriteOptional(w, "self", s.Self);
            WriteOptional(w, "previous", s.Previous);
            WriteOptional(w, "next", s.Next);
            w.WriteNumber("max_probability", Round(s.MaxProbability));
            w.WriteString("pattern", s.Pattern);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    internal static void WriteImportance(Utf8JsonWriter w, IReadOnlyList<ImportanceMatrix> importance)
    {
        w.WriteStartArray("importance");
        foreach (var m in importance)
        {
            w.WriteStartObject();
            w.WriteString("kind", AttentionKinds.Name(m.Kind));
            w.WriteString("loss", m.Loss);
            w.WriteNumber("base_loss", Math.Round(m.BaseLoss, 6));
            w.WriteStartArray("delta");                           // [layers][heads]
            for (int l = 0; l < m.Layers; l++)
            {
                w.WriteStartArray();
                for (int h = 0; h < m.Heads; h++) w.WriteNumberValue(Math.Round(m.Delta[l, h], 6));
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, Round(v));
        else w.WriteNull(name);
    }
}
