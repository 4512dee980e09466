using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Transformers.Tests.Inspection;

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c>, installed by .ci/run) driven from the command line: --dump-dom prints
/// the DOM after the page's script ran, --screenshot saves a PNG. Each run gets a fresh profile directory. A missing
/// browser fails the test with a message saying how to install it.
/// </summary>
internal static partial class Chromium
{
    public static string Path()
    {
        foreach (var candidate in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" })
            if (File.Exists(candidate)) return candidate;
        Assert.Fail("headless Chromium is missing: install it with `apt-get install -y chromium chromium-driver` (.ci/run does this when it is missing)");
        return "";
    }

    /// <summary>The DOM of <paramref name="htmlPath"/> (with an optional #fragment) after up to 5 s of virtual time.</summary>
    public static string DumpDom(string htmlPath, string fragment = "") => Run(htmlPath, fragment, ["--dump-dom"]);

    public static void Screenshot(string htmlPath, string pngPath, string fragment = "", int width = 1400, int height = 1000) =>
        Run(htmlPath, fragment, [$"--screenshot={pngPath}", $"--window-size={width},{height}", "--hide-scrollbars"]);

    private static string Run(string htmlPath, string fragment, string[] extra)
    {
        var profile = Directory.CreateTempSubdirectory("heads-chromium-");
        try
        {
            var psi = new ProcessStartInfo(Path())
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                                      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile.FullName}",
                                      "--virtual-time-budget=5000" })
                psi.ArgumentList.Add(a);
            foreach (var a in extra) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(new Uri(System.IO.Path.GetFullPath(htmlPath)).AbsoluteUri + fragment);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(90_000))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish within 90 s on {htmlPath}");
            }
            if (p.ExitCode != 0) Assert.Fail($"chromium exited with {p.ExitCode}: {stderr.Result}");
            return stdout.Result;
        }
        finally
        {
            try { profile.Delete(true); } catch (IOException) { }
        }
    }

    /// <summary>The attributes of the &lt;body&gt; element in a dumped DOM.</summary>
    public static Dictionary<string, string> BodyAttributes(string dom)
    {
        var body = BodyTag().Match(dom);
        Assert.True(body.Success, "no <body> in the dumped DOM");
        return Attribute().Matches(body.Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
    }

    [GeneratedRegex("<body[^>]*>")]
    private static partial Regex BodyTag();

    [GeneratedRegex("([a-z-]+)=\"([^\"]*)\"")]
    private static partial Regex Attribute();
}
