using Transformers.Training;

namespace Transformers.Cli;

/// <summary>
/// The CLI's one error funnel: every command runs inside <see cref="Run"/>, so no failure reaches the user as a stack
/// trace. Exit codes: 1 for an expected failure (bad option or input, missing or malformed file: one line
/// <c>error: ...</c>), <see cref="Diverged"/> when training diverged, <see cref="Unexpected"/> for anything else (one
/// line with the exception's type and message). <c>TRANSFORMERS_DEBUG=1</c> adds the stack trace.
/// </summary>
public static class CliErrors
{
    /// <summary>Exit code of an expected failure: the message says what to change.</summary>
    public const int Failed = 1;

    /// <summary>Exit code when the training loss became NaN or infinite (the last checkpoint is left as it was).</summary>
    public const int Diverged = 3;

    /// <summary>Exit code of an unexpected exception (a bug, or a failure nobody anticipated): sysexits.h's EX_SOFTWARE.</summary>
    public const int Unexpected = 70;

    /// <summary>The environment variable that adds stack traces to error lines.</summary>
    public const string DebugVariable = "TRANSFORMERS_DEBUG";

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>Writes the error line(s) for <paramref name="e"/> on stderr and returns the exit code.</summary>
    public static int Report(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } aggregate) e = aggregate.InnerException!;
        (string line, int code) = e switch
        {
            TrainingDivergedException => ($"error: training diverged: {e.Message}", Diverged),
            _ when IsExpected(e) => ($"error: {e.Message}", Failed),
            _ => ($"error: unexpected {e.GetType().FullName}: {e.Message} (set {DebugVariable}=1 for the stack trace)", Unexpected),
        };
        Console.Error.WriteLine(OneLine(line));
        if (Debug) Console.Error.WriteLine(e);
        return code;
    }

    private static bool IsExpected(Exception e) =>
        e is ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
            or InvalidOperationException or TorchRuntimeException or IOException or UnauthorizedAccessException
            or NotSupportedException or FormatException or System.Text.Json.JsonException;

    private static bool Debug => Environment.GetEnvironmentVariable(DebugVariable) is { Length: > 0 } v && v != "0";

    /// <summary>The first line of a message that spans lines (libtorch appends its C++ frames to its messages).</summary>
    private static string OneLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');
}
