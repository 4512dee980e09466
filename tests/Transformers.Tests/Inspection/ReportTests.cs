using System.Text.Json;
using System.Text.RegularExpressions;
using Transformers.Inspection;

namespace Transformers.Tests.Inspection;

/// <summary>The JSON writer and the HTML page's escaping, on hand-made records (the page itself is tested in <see cref="BrowserTests"/>).</summary>
public sealed class ReportTests
{
    /// <summary>Tokens that would break a page that pasted them into HTML or into the JSON block.</summary>
    public static readonly string[] HostileTokens =
    [
        "[CLS]",
        "</script><script>document.body.setAttribute('data-pwned','1')</script>",
        "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">",
        "&amp; \"quotes\" 'apostrophes' <!-- -->",
        "[SEP]",
    ];

    public static AttentionRecord HostileRecord()
    {
        int n = HostileTokens.Length;
        var probs = new float[2 * n * n];
        for (int h = 0; h < 2; h++)
            for (int q = 0; q < n; q++) probs[(h * n + q) * n + (h == 0 ? q : Math.Max(0, q - 1))] = 1;   // head 0 self, head 1 previous
        return new AttentionRecord
        {
            Model = "<b>model</b>",
            SourceTokens = HostileTokens,
            Layers = [new AttentionLayer(AttentionKind.EncoderSelf, 0, 2, n, n, probs)],
            Notes = ["note with <script>alert(1)</script>"],
        };
    }

    [Fact]
    public void Json_HasTheDocumentedShape_AndRoundsToFourDecimals()
    {
        var layer = new AttentionLayer(AttentionKind.Cross, 0, 1, 1, 3, [0.123456f, 0.5f, 0.376544f]);
        var record = new AttentionRecord { Model = "m", SourceTokens = ["a", "b", "</s>"], TargetTokens = ["<s>"], Layers = [layer], Notes = ["n"] };
        var stats = HeadStatisticsCalculator.Compute(record);
        var importance = new ImportanceMatrix(AttentionKind.Cross, "translation", 2.5, new double[,] { { 0.25 } });
        var json = AttentionJson.Serialize(record, stats, importance: [importance]);
        Assert.Contains("[0.1235,0.5,0.3765]", json);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("transformers.heads", root.GetProperty("format").GetString());
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        Assert.Equal(["a", "b", "</s>"], root.GetProperty("tokens").GetProperty("source").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal("<s>", root.GetProperty("tokens").GetProperty("target")[0].GetString());
        var a = root.GetProperty("attention")[0];
        Assert.Equal(("cross", 0, 1, 1, 3), (a.GetProperty("kind").GetString(), a.GetProperty("layer").GetInt32(), a.GetProperty("heads").GetInt32(),
                                              a.GetProperty("queries").GetInt32(), a.GetProperty("keys").GetInt32()));
        Assert.Equal(0.5, a.GetProperty("probabilities")[0][0][1].GetDouble());
        var s = root.GetProperty("statistics")[0];
        Assert.Equal(0.5, s.GetProperty("max_probability").GetDouble());
        Assert.Equal(JsonValueKind.Null, s.GetProperty("previous").ValueKind);
        var imp = root.GetProperty("importance")[0];
        Assert.Equal(("cross", "translation", 2.5, 0.25), (imp.GetProperty("kind").GetString(), imp.GetProperty("loss").GetString(),
                                                           imp.GetProperty("base_loss").GetDouble(), imp.GetProperty("delta")[0][0].GetDouble()));
        Assert.Empty(root.GetProperty("gates").EnumerateArray());
    }

    [Fact]
    public void KindNames_RoundTrip()
    {
        Assert.Equal(["encoder_self", "decoder_self", "cross", "recurrent"], Enum.GetValues<AttentionKind>().Select(AttentionKinds.Name));
        Assert.All(Enum.GetValues<AttentionKind>(), k => Assert.Equal(k, AttentionKinds.Parse(AttentionKinds.Name(k))));
        Assert.Throws<ArgumentException>(() => AttentionKinds.Parse("self"));
    }

    [Fact]
    public void Json_DocumentedSchemaNamesEveryTopLevelField()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "attention-record.md"));
        var json = AttentionJson.Serialize(HostileRecord(), [], []);
        using var parsed = JsonDocument.Parse(json);
        foreach (var property in parsed.RootElement.EnumerateObject())
            Assert.Contains($"`{property.Name}`", doc);
    }

    [Fact]
    public void Html_EscapesTokensAndText_AndTheDataBlockCannotBeClosedEarly()
    {
        var html = HtmlReport.Render(HostileRecord(), HeadStatisticsCalculator.Compute(HostileRecord()), []);
        // Exactly our three script elements: the error hook, the JSON block, the viewer.
        Assert.Equal(3, Regex.Matches(html, "<script", RegexOptions.IgnoreCase).Count);
        Assert.Equal(3, Regex.Matches(html, "</script", RegexOptions.IgnoreCase).Count);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>model", html);
        Assert.Contains("&lt;b&gt;model&lt;/b&gt;", html);
        Assert.Contains("note with &lt;script&gt;alert(1)&lt;/script&gt;", html);
        // The JSON block parses back to the exact tokens.
        var block = Regex.Match(html, "<script type=\"application/json\" id=\"heads-data\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        using var data = JsonDocument.Parse(block);
        Assert.Equal(HostileTokens, data.RootElement.GetProperty("source").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(2, data.RootElement.GetProperty("kinds")[0].GetProperty("maps")[0].GetArrayLength());
    }

    [Fact]
    public void Html_HasNoNetworkReferences()
    {
        var html = HtmlReport.Render(HostileRecord(), [], []);
        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=\s*[""']?(https?:)?//", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.Contains("default-src 'none'", html);   // the CSP forbids any fetch
    }

    [Fact]
    public void Html_EncodesEachHeadAsSqrtBytes()
    {
        var layer = new AttentionLayer(AttentionKind.EncoderSelf, 0, 1, 2, 2, [0.25f, 0.75f, 1f, 0f]);
        var json = HtmlReport.DataJson(new AttentionRecord { Model = "m", SourceTokens = ["a", "b"], Layers = [layer] });
        using var doc = JsonDocument.Parse(json);
        var bytes = Convert.FromBase64String(doc.RootElement.GetProperty("kinds")[0].GetProperty("maps")[0][0].GetString()!);
        Assert.Equal([128, 221, 255, 0], bytes);   // round(255·√p): √.25 = .5 -> 127.5 -> 128; √.75 = .866 -> 220.8 -> 221
    }

    [Fact]
    public void Png_WritesOnePerHeadAndAGridPerLayer()
    {
        var dir = Path.Combine(Path.GetTempPath(), "heads-png-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = PngReport.Write(dir, HostileRecord());
            Assert.Equal(["encoder_self_layer0_head0.png", "encoder_self_layer0_head1.png", "encoder_self_layer0.png"], files.Select(Path.GetFileName));
            foreach (var f in files)
            {
                var head = File.ReadAllBytes(f)[..8];
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], head);
                Assert.True(new FileInfo(f).Length > 5_000, $"{f} is suspiciously small");
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Transformers.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Transformers.sln not found above " + AppContext.BaseDirectory);
    }
}
