using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Transformers.Cli.Serving;
using Transformers.Tests.Inspection;

namespace Transformers.Cli.Tests;

/// <summary>
/// `serve`, in-process on a free loopback port with the fixture's trained translator: the JSON API (answers and every
/// 4xx), the viewer and compare routes, and the page in headless Chromium translating and drawing an alignment.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ServeTests(CliFiles files) : IAsyncLifetime
{
    private WebApplication? app;
    private TranslationService? service;
    private readonly HttpClient http = new();
    private string address = "";

    public async Task InitializeAsync()
    {
        TorchRuntime.EnsureLoaded();
        service = new TranslationService([ServedModel.Load(files.PathOf("run"), TorchSharp.torch.CPU)]);
        app = TranslationServer.Build(service, "http://127.0.0.1:0", new ServeLimits { MaxChars = 500, MaxLines = 8 });
        await app.StartAsync();
        address = TranslationServer.Address(app).TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
        service?.Dispose();
        http.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body)> Post(string path, string json)
    {
        using var response = await http.PostAsync(address + path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<(HttpStatusCode Status, string Body)> Get(string path)
    {
        using var response = await http.GetAsync(address + path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Translate_AnswersOneTranslationPerLine()
    {
        var (status, body) = await Post("/api/translate", """{"text": "le chat\nla maison", "beam": 2}""");
        Assert.Equal(HttpStatusCode.OK, status);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(2, json.RootElement.GetProperty("translations").GetArrayLength());
        Assert.Equal(2, json.RootElement.GetProperty("beam").GetInt32());
    }

    [Theory]
    [InlineData("{not json", HttpStatusCode.BadRequest, "not JSON")]
    [InlineData("[1, 2]", HttpStatusCode.BadRequest, "must be a JSON object")]
    [InlineData("""{"beam": 4}""", HttpStatusCode.BadRequest, "\"text\" is missing")]
    [InlineData("""{"text": "   "}""", HttpStatusCode.BadRequest, "empty")]
    [InlineData("""{"text": "le chat", "beam": 50}""", HttpStatusCode.BadRequest, "must be in 1..10")]
    [InlineData("""{"text": "le chat", "beam": "four"}""", HttpStatusCode.BadRequest, "must be an integer")]
    [InlineData("""{"text": "le chat", "model": "7"}""", HttpStatusCode.BadRequest, "no model '7'")]
    [InlineData("""{"text": "a\nb\nc\nd\ne\nf\ng\nh\ni"}""", HttpStatusCode.RequestEntityTooLarge, "9 lines: at most 8")]
    public async Task BadRequests_AreJsonErrorsThatSayWhy(string body, HttpStatusCode expected, string message)
    {
        var (status, answer) = await Post("/api/translate", body);
        Assert.Equal(expected, status);
        Assert.Contains(message, Error(answer));
    }

    /// <summary>The "error" of a JSON error answer.</summary>
    private static string Error(string answer)
    {
        using var json = JsonDocument.Parse(answer);
        return json.RootElement.GetProperty("error").GetString() ?? "";
    }

    [Fact]
    public async Task OversizedText_UnknownRoutes_AndCompareWithOneModel_AreRefused()
    {
        var (status, answer) = await Post("/api/translate", JsonSerializer.Serialize(new { text = new string('a', 600) }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("600 characters: at most 500", Error(answer));
        var (missing, error) = await Get("/api/nothing");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Contains("no such route: GET /api/nothing", Error(error));
        var (compare, why) = await Get("/compare?text=le%20chat");
        Assert.Equal(HttpStatusCode.BadRequest, compare);
        Assert.Contains("compare needs two models", Error(why));
    }

    [Fact]
    public async Task Inspect_AnswersTheAttentionRecord_AndViewServesTheViewer()
    {
        var (status, body) = await Post("/api/inspect", """{"text": "le fichier"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        using (var json = JsonDocument.Parse(body))
        {
            Assert.Equal("transformers.heads", json.RootElement.GetProperty("format").GetString());
            Assert.Contains(json.RootElement.GetProperty("attention").EnumerateArray(), l => l.GetProperty("kind").GetString() == "cross");
        }
        var (view, html) = await Get("/view?text=le%20fichier&beam=1");
        Assert.Equal(HttpStatusCode.OK, view);
        Assert.Contains("Attention heads", html);
        var (page, index) = await Get("/");
        Assert.Equal(HttpStatusCode.OK, page);
        Assert.Contains("<textarea", index);
        Assert.Contains(files.PathOf("run"), index);                                     // the model list
    }

    [Fact]
    public void Page_InABrowser_TranslatesAndDrawsTheAlignment()
    {
        var dom = Chromium.DumpUrl(address + "/?text=" + Uri.EscapeDataString("le chat\nla maison") + "&beam=1");
        var body = Chromium.BodyAttributes(dom);
        Assert.Equal("0", body["data-errors"]);
        Assert.Equal("2", body["data-translations"]);
        Assert.True(int.Parse(body["data-map-drawn"]) > 0, "no alignment was drawn");
        Assert.Contains("Every head and gate in the viewer", dom);
    }
}
