using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Transformers.Tests.Inspection;

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c>, installed on first use when missing) driven from the command line: --dump-dom prints
/// the DOM after the page's script ran, --screenshot saves a PNG. Each run gets a fresh profile directory. A missing
/// browser fails the test with a message saying how to install it.
/// </summary>
internal static partial class Chromium
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    /// <summary>Debian's chromium, installed with apt-get on first use when missing and running as root, so that the
    /// README's `dotnet test` does all set-up on a fresh machine.</summary>
    private static readonly Lazy<string> InstallAttempt = new(TryInstall);

    public static string Path()
    {
        var found = Candidates.FirstOrDefault(File.Exists);
        if (found is not null) return found;
        var attempt = InstallAttempt.Value;
        found = Candidates.FirstOrDefault(File.Exists);
        if (found is not null) return found;
        Assert.Fail($"headless Chromium is missing and could not be installed ({attempt}): install it with `apt-get install -y chromium chromium-driver`");
        return "";
    }

    private static string TryInstall()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
            return "not root on a Debian-like system";
        foreach (var args in new[] { "update -qq", "install -y -qq chromium chromium-driver" })
        {
            var info = new ProcessStartInfo("/usr/bin/apt-get", args) { RedirectStandardOutput = true, RedirectStandardError = true };
            info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            using var p = Process.Start(info)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) return $"apt-get {args} exited with {p.ExitCode}: {err.Result.Trim()}";
        }
        return "installed";
    }

    /// <summary>The DOM of <paramref name="htmlPath"/> (with an optional #fragment) after up to 5 s of virtual time.</summary>
    public static string DumpDom(string htmlPath, string fragment = "") => Run(FileUrl(htmlPath) + fragment, ["--dump-dom"]);

    /// <summary>The DOM of a served page (e.g. http://127.0.0.1:PORT/?text=...) after its scripts and fetches ran.</summary>
    public static string DumpUrl(string url) => Run(url, ["--dump-dom"]);

    public static void Screenshot(string htmlPath, string pngPath, string fragment = "", int width = 1400, int height = 1000) =>
        Run(FileUrl(htmlPath) + fragment, [$"--screenshot={pngPath}", $"--window-size={width},{height}", "--hide-scrollbars"]);

    private static string FileUrl(string htmlPath) => new Uri(System.IO.Path.GetFullPath(htmlPath)).AbsoluteUri;

    private static string Run(string url, string[] extra)
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
            psi.ArgumentList.Add(url);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(90_000))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish within 90 s on {url}");
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
