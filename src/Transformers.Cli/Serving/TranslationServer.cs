using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Transformers.Inspection;

namespace Transformers.Cli.Serving;

/// <summary>The limits a server enforces on every request (a 4xx error names the one exceeded).</summary>
internal sealed record ServeLimits
{
    /// <summary>Characters of text per request.</summary>
    public int MaxChars { get; init; } = 2000;
    /// <summary>Lines (sentences) per translate request.</summary>
    public int MaxLines { get; init; } = 32;
    /// <summary>Widest beam a request may ask for.</summary>
    public int MaxBeam { get; init; } = 10;
    /// <summary>Requests computing at once; more get 503 with Retry-After (the models run one request at a time each).</summary>
    public int MaxConcurrent { get; init; } = 4;
    /// <summary>Bytes of a request body.</summary>
    public long MaxBodyBytes { get; init; } = 64 * 1024;
}

/// <summary>
/// `transformers serve`: Kestrel on loopback by default. Routes: <c>GET /</c> the page (type French, get the
/// translations, the alignment and links to the full viewer); <c>POST /api/translate</c>
/// <c>{"text": "lines", "beam": 4, "model": "0"}</c> → <c>{"model": name, "translations": [...]}</c>; <c>POST /api/inspect</c>
/// <c>{"text": "one sentence", "beam": 1}</c> → the attention record JSON (docs/attention-record.md) of the model's own
/// translation; <c>GET /view?text=&amp;beam=&amp;model=</c> the heads viewer; <c>GET /compare?text=</c> the two models side by
/// side. Errors are JSON <c>{"error": "..."}</c> with 400 (bad JSON, missing or empty text, bad beam), 404 (no such route),
/// 413 (over a limit) or 503 (busy).
/// </summary>
internal static class TranslationServer
{
    public static WebApplication Build(TranslationService service, string url, ServeLimits? limits = null)
    {
        limits ??= new ServeLimits();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = limits.MaxBodyBytes);
        var app = builder.Build();
        var busy = new SemaphoreSlim(limits.MaxConcurrent);
        var page = PageHtml(service);

        app.MapGet("/", () => Results.Content(page, "text/html; charset=utf-8"));
        app.MapPost("/api/translate", (Delegate)(async (HttpContext http) => await Guarded(http, busy, async () =>
        {
            var (text, beam, model) = await ReadRequest(http, limits);
            var lines = text.Replace("\r\n", "\n").Split('\n');
            if (lines.Length > limits.MaxLines) throw new LimitException($"{lines.Length} lines: at most {limits.MaxLines} per request");
            var m = service.Model(model);
            var translations = m.Translate(lines, beam);
            return Results.Json(new { model = m.Name, architecture = m.Architecture, beam, translations });
        })));
        app.MapPost("/api/inspect", (Delegate)(async (HttpContext http) => await Guarded(http, busy, async () =>
        {
            var (text, beam, model) = await ReadRequest(http, limits);
            if (text.Contains('\n')) throw new ArgumentException("inspect takes one sentence: no line breaks in \"text\"");
            var inspection = service.Model(model).Inspect(text, beam);
            var json = AttentionJson.Serialize(inspection.Record, HeadStatisticsCalculator.Compute(inspection.Record), []);
            return Results.Content(json, "application/json; charset=utf-8");
        })));
        app.MapGet("/view", (Delegate)(async (HttpContext http) => await Guarded(http, busy, () =>
        {
            var (text, beam, model) = ReadQuery(http, limits);
            return Task.FromResult(Results.Content(service.ViewerHtml(service.Model(model), text, beam), "text/html; charset=utf-8"));
        })));
        app.MapGet("/compare", (Delegate)(async (HttpContext http) => await Guarded(http, busy, () =>
        {
            var (text, beam, _) = ReadQuery(http, limits);
            return Task.FromResult(Results.Content(service.CompareHtml(text, beam), "text/html; charset=utf-8"));
        })));
        app.MapFallback((HttpContext http) => Error(StatusCodes.Status404NotFound, $"no such route: {http.Request.Method} {http.Request.Path}"));
        return app;
    }

    /// <summary>The address the server listens on once started (the real port when it was started on port 0).</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? app.Urls.First();

    private sealed class LimitException(string message) : Exception(message);

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    /// <summary>Runs a request's work under the concurrency limit; an error it can explain becomes a JSON 4xx.</summary>
    private static async Task<IResult> Guarded(HttpContext http, SemaphoreSlim busy, Func<Task<IResult>> work)
    {
        if (!await busy.WaitAsync(0))
        {
            http.Response.Headers.RetryAfter = "1";
            return Error(StatusCodes.Status503ServiceUnavailable, "busy: every model is translating; retry in a moment");
        }
        try
        {
            return await work();
        }
        catch (LimitException e) { return Error(StatusCodes.Status413PayloadTooLarge, e.Message); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge) { return Error(StatusCodes.Status413PayloadTooLarge, "the request body is too large"); }
        catch (JsonException e) { return Error(StatusCodes.Status400BadRequest, $"the body is not the JSON expected ({e.Message})"); }
        catch (ArgumentException e) { return Error(StatusCodes.Status400BadRequest, e.Message); }
        finally
        {
            busy.Release();
        }
    }

    /// <summary>{"text": string, "beam": int (default 1), "model": string or int (default the first)}.</summary>
    private static async Task<(string Text, int Beam, string? Model)> ReadRequest(HttpContext http, ServeLimits limits)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the body is not JSON: {e.Message}");
        }
        if (body is not JsonObject json) throw new ArgumentException("the body must be a JSON object like {\"text\": \"Ouvrir le fichier\", \"beam\": 4}");
        string text = json["text"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : throw new ArgumentException("\"text\" is missing or not a string");
        int beam = json["beam"] switch
        {
            null => 1,
            JsonValue v when v.TryGetValue<int>(out var b) => b,
            _ => throw new ArgumentException("\"beam\" must be an integer"),
        };
        string? model = json["model"]?.ToString();
        return (Check(text, limits), CheckBeam(beam, limits), model);
    }

    private static (string Text, int Beam, string? Model) ReadQuery(HttpContext http, ServeLimits limits)
    {
        var q = http.Request.Query;
        string text = q["text"].FirstOrDefault() ?? throw new ArgumentException("?text= is missing");
        int beam = q["beam"].FirstOrDefault() is { } b ? int.TryParse(b, out var n) ? n : throw new ArgumentException("?beam= must be an integer") : 1;
        return (Check(text, limits), CheckBeam(beam, limits), q["model"].FirstOrDefault());
    }

    private static string Check(string text, ServeLimits limits)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException("\"text\" is empty: give a French sentence");
        if (text.Length > limits.MaxChars) throw new LimitException($"{text.Length} characters: at most {limits.MaxChars} per request");
        return text;
    }

    private static int CheckBeam(int beam, ServeLimits limits) =>
        beam >= 1 && beam <= limits.MaxBeam ? beam : throw new ArgumentException($"\"beam\" {beam}: must be in 1..{limits.MaxBeam}");

    /// <summary>The page: Serving/index.html (embedded), with the models' names filled in.</summary>
    private static string PageHtml(TranslationService service)
    {
        using var stream = typeof(TranslationServer).Assembly.GetManifestResourceStream("Transformers.Cli.Serving.index.html")
                           ?? throw new InvalidOperationException("Serving/index.html is not embedded");
        using var reader = new StreamReader(stream);
        var options = string.Concat(service.Models.Select((m, i) => $"<option value=\"{i}\">{WebUtility.HtmlEncode($"{m.Name} ({m.Architecture})")}</option>"));
        return reader.ReadToEnd().Replace("<!--MODELS-->", options).Replace("<!--COMPARE-->", service.Models.Count > 1 ? "1" : "0");
    }
}
