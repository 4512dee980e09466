using System.Diagnostics;
using System.Text.RegularExpressions;
using Transformers.Inspection;
using Xunit.Abstractions;

namespace Transformers.Tests.Inspection;

/// <summary>
/// The generated viewer in a real browser (headless Chromium): what it drew, that another head draws something else,
/// that no script error was logged, that input text is never executed, and that 512 tokens stay responsive.
/// Screenshots go to inspection-output/ under the test output folder.
/// </summary>
[Collection(MiniLmHeadsCollection.Name)]
public sealed class BrowserTests(MiniLmHeadsFixture fixture, ITestOutputHelper output)
{
    private static readonly string OutputDir = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "inspection-output")).FullName;

    private string WriteMiniLmReport(string name, string text)
    {
        var record = fixture.Capture(text);
        var path = Path.Combine(OutputDir, name + ".html");
        HtmlReport.Write(path, record, HeadStatisticsCalculator.Compute(record), []);
        return path;
    }

    [Fact]
    public void MiniLm_DrawsEveryLayerAndHead_AndSelectingAHeadChangesTheDrawing()
    {
        var html = WriteMiniLmReport("heads-minilm", "The quick brown fox jumps over the lazy dog, and it was happy!");

        var dom = Chromium.DumpDom(html);
        var body = Chromium.BodyAttributes(dom);
        Assert.Equal("1", body["data-ready"]);
        Assert.Equal("0", body["data-errors"]);
        Assert.Equal("72", body["data-maps-drawn"]);
        Assert.Equal(72, Regex.Matches(dom, "<canvas class=\"map[ \"]").Count);
        var grid = Regex.Match(dom, "<div class=\"grid\" data-kind=\"encoder_self\" data-layers=\"(\\d+)\" data-heads=\"(\\d+)\"");
        Assert.True(grid.Success, "no model-view grid in the DOM");
        Assert.Equal(("6", "12"), (grid.Groups[1].Value, grid.Groups[2].Value));
        Assert.Equal("encoder_self/0/0", body["data-selected"]);
        Assert.True(int.Parse(body["data-lines-drawn"]) > 0);

        var other = Chromium.BodyAttributes(Chromium.DumpDom(html, "#kind=encoder_self&layer=2&head=5"));
        Assert.Equal("0", other["data-errors"]);
        Assert.Equal("encoder_self/2/5", other["data-selected"]);
        Assert.NotEqual(body["data-drawn-hash"], other["data-drawn-hash"]);

        // The same selection draws the same thing (the hash is a function of what is drawn, not of time).
        var again = Chromium.BodyAttributes(Chromium.DumpDom(html, "#kind=encoder_self&layer=2&head=5"));
        Assert.Equal(other["data-drawn-hash"], again["data-drawn-hash"]);

        // Focusing a token (what hovering does) keeps only its lines.
        var focused = Chromium.BodyAttributes(Chromium.DumpDom(html, "#kind=encoder_self&layer=2&head=5&focus=q3"));
        Assert.Equal("0", focused["data-errors"]);
        Assert.InRange(int.Parse(focused["data-lines-drawn"]), 1, int.Parse(other["data-lines-drawn"]) - 1);
        Assert.NotEqual(other["data-drawn-hash"], focused["data-drawn-hash"]);

        var png = Path.Combine(OutputDir, "heads-minilm.png");
        Chromium.Screenshot(html, png, "#layer=0&head=2");
        Assert.True(new FileInfo(png).Length > 20_000, "the screenshot is (nearly) empty");
        output.WriteLine($"screenshot: {png}");
    }

    [Fact]
    public void HostileTokens_AreShownAsText_NeverExecuted()
    {
        var record = ReportTests.HostileRecord();
        var html = Path.Combine(OutputDir, "heads-hostile.html");
        HtmlReport.Write(html, record, HeadStatisticsCalculator.Compute(record), []);
        var dom = Chromium.DumpDom(html);
        var body = Chromium.BodyAttributes(dom);
        Assert.Equal("1", body["data-ready"]);
        Assert.Equal("0", body["data-errors"]);
        Assert.False(body.ContainsKey("data-pwned"), "a token was executed as script");
        Assert.Equal("2", body["data-maps-drawn"]);
        Assert.DoesNotContain("<img", dom, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;b&gt;model&lt;/b&gt;", dom);
    }

    [Fact]
    public void MiniLm_512Tokens_RendersQuickly_AndShowsTheTruncationNote()
    {
        var text = string.Join(' ', Enumerable.Range(0, 300).Select(i => i % 7 == 6 ? "again." : "the model reads"));
        var html = WriteMiniLmReport("heads-minilm-512", text);
        var size = new FileInfo(html).Length;
        var watch = Stopwatch.StartNew();
        var dom = Chromium.DumpDom(html);
        watch.Stop();
        var body = Chromium.BodyAttributes(dom);
        Assert.Equal("1", body["data-ready"]);
        Assert.Equal("0", body["data-errors"]);
        Assert.Equal("72", body["data-maps-drawn"]);
        Assert.Matches("truncated to the first 511", dom);
        double renderMs = double.Parse(body["data-render-ms"], System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"512 tokens: HTML {size / 1e6:0.0} MB, first render (72 maps + head + matrix) {renderMs:0} ms in the page, chromium total {watch.ElapsedMilliseconds} ms");
        Assert.True(renderMs < 15_000, $"first render took {renderMs} ms");
        Chromium.Screenshot(html, Path.Combine(OutputDir, "heads-minilm-512.png"), "#layer=0&head=2");
    }
}
