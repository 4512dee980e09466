using System.Diagnostics;
using System.Globalization;

namespace Transformers.Lab.Runner;

/// <summary>
/// Where and when numbers were taken: printed on every plot and report. <paramref name="LoadAverage"/> is the 1-minute
/// load average at the start of the run (timings on a loaded machine are not comparable with a quiet one).
/// </summary>
public sealed record MachineStamp(string Cpu, int Cores, int TorchThreads, DateTime DateUtc, string Commit, string LoadAverage)
{
    /// <summary>
    /// One line for plots: "Intel Xeon ... | 2 cores | 1 torch thread | 2026-11-26 15:00 UTC | f9e32d3 | load 8.1".
    /// <see cref="TorchThreads"/> <see cref="NotTimed"/> stamps a plot that times nothing here (e.g. curves drawn from runs made elsewhere).
    /// </summary>
    public string OneLine =>
        $"{Cpu} | {Cores} cores | {Threads} | {DateUtc:yyyy-MM-dd HH:mm} UTC | commit {ShortCommit} | load {LoadAverage}";

    /// <summary>The thread count of a stamp whose plot times nothing here: its numbers were timed where they ran.</summary>
    public const int NotTimed = 0;

    private string Threads => TorchThreads switch
    {
        NotTimed => "drawn here, timed elsewhere",
        1 => "1 torch thread",
        _ => $"{TorchThreads} torch threads",
    };

    public string ShortCommit => Commit.Length >= 7 && Commit.All(char.IsAsciiHexDigit) ? Commit[..7] : Commit;

    /// <summary>Reads the machine now; the commit is that of the checkout holding the current folder or, failing that, this program.</summary>
    public static MachineStamp Take(int torchThreads) => new(
        CpuModel(), Environment.ProcessorCount, torchThreads, DateTime.UtcNow,
        GitCommit(Directory.GetCurrentDirectory()) is var commit && !commit.StartsWith("unknown", StringComparison.Ordinal) ? commit : GitCommit(AppContext.BaseDirectory),
        ReadLoadAverage());

    /// <summary>The first "model name" of /proc/cpuinfo, or the OS architecture where there is none.</summary>
    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null && line.IndexOf(':') is var colon and >= 0)
                return string.Join(' ', line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"unknown CPU ({System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture})";
    }

    private static string ReadLoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }

    /// <summary>`git rev-parse HEAD`, else the .git folder read by hand (HEAD -> ref file or packed-refs), else "unknown".</summary>
    private static string GitCommit(string start)
    {
        var gitDir = FindGitDir(start);
        if (gitDir is null) return "unknown (no git checkout)";
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", ["-C", start, "rev-parse", "HEAD"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            });
            if (git is not null)
            {
                var output = git.StandardOutput.ReadToEnd().Trim();
                git.WaitForExit();
                if (git.ExitCode == 0 && output.Length == 40) return output;
            }
        }
        catch (System.ComponentModel.Win32Exception) { } // no git on PATH
        return ReadHead(gitDir) ?? "unknown";
    }

    /// <summary>The .git directory above <paramref name="start"/>; follows a worktree's ".git" file ("gitdir: ...").</summary>
    private static string? FindGitDir(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            var dotGit = Path.Combine(dir.FullName, ".git");
            if (Directory.Exists(dotGit)) return dotGit;
            if (File.Exists(dotGit))
            {
                var text = File.ReadAllText(dotGit).Trim();
                if (text.StartsWith("gitdir:", StringComparison.Ordinal))
                    return Path.GetFullPath(text["gitdir:".Length..].Trim(), dir.FullName);
            }
        }
        return null;
    }

    private static string? ReadHead(string gitDir)
    {
        try
        {
            var head = File.ReadAllText(Path.Combine(gitDir, "HEAD")).Trim();
            if (!head.StartsWith("ref:", StringComparison.Ordinal)) return head;
            var reference = head["ref:".Length..].Trim();
            // A worktree keeps HEAD locally but refs in the common dir.
            var common = File.Exists(Path.Combine(gitDir, "commondir"))
                ? Path.GetFullPath(File.ReadAllText(Path.Combine(gitDir, "commondir")).Trim(), gitDir) : gitDir;
            var refFile = Path.Combine(common, reference);
            if (File.Exists(refFile)) return File.ReadAllText(refFile).Trim();
            var packed = Path.Combine(common, "packed-refs");
            return File.Exists(packed)
                ? File.ReadLines(packed).Select(l => l.Split(' ')).FirstOrDefault(p => p.Length == 2 && p[1] == reference)?[0]
                : null;
        }
        catch (IOException) { return null; }
    }

    /// <summary>For reports: "2026-11-26".</summary>
    public string Date => DateUtc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
