using System.Text;

namespace Transformers.Cli.Tests;

/// <summary>What one run of the CLI left: its exit code, stdout and stderr.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    /// <summary>Lines of stdout (split at \n only, the way the CLI ends its lines).</summary>
    public string[] OutLines => Out.Length == 0 ? [] : Out.TrimEnd('\n').Split('\n');

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// Runs <see cref="Program.Main"/> in this process with stdin given as bytes and stdout/stderr captured. Console is
/// process-wide, so every test that runs the CLI is in <see cref="CliCollection"/> (one at a time).
/// </summary>
public static class Cli
{
    public static CliResult Run(params string[] args) => Run(args, stdin: null);

    public static CliResult Run(string[] args, byte[]? stdin)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (oldInput, oldRedirected) = (StandardStreams.OpenInput, StandardStreams.InputRedirected);
        var (stdout, stderr) = (new StringWriter { NewLine = "\n" }, new StringWriter { NewLine = "\n" });
        try
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            StandardStreams.OpenInput = () => new MemoryStream(stdin ?? []);
            StandardStreams.InputRedirected = () => stdin is not null;
            int code = Program.Main(args);
            return new CliResult(code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            (StandardStreams.OpenInput, StandardStreams.InputRedirected) = (oldInput, oldRedirected);
        }
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/>.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}

/// <summary>Tests that run the CLI: one at a time, since they swap the process's Console streams.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection : ICollectionFixture<CliFiles>
{
    public const string Name = "CLI (process-wide Console)";
}
