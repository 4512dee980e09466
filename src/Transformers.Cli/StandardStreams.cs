namespace Transformers.Cli;

/// <summary>
/// Standard input as the commands read it: bytes, decoded as UTF-8 line by line by <see cref="TextLines"/> (whatever the
/// locale). Tests that run the CLI in-process give their own bytes here; stdout and stderr they capture with
/// <see cref="Console.SetOut"/> and <see cref="Console.SetError"/>, which is what the commands write to.
/// </summary>
internal static class StandardStreams
{
    /// <summary>Opens stdin.</summary>
    public static Func<Stream> OpenInput { get; set; } = Console.OpenStandardInput;

    /// <summary>Whether stdin is a pipe or file rather than a terminal (where reading would wait for typing).</summary>
    public static Func<bool> InputRedirected { get; set; } = () => Console.IsInputRedirected;

    /// <summary>The lines of stdin (see <see cref="TextLines"/>: one per <c>\n</c> or <c>\r\n</c>, invalid UTF-8 as U+FFFD).</summary>
    public static IEnumerable<string> InputLines() => TextLines.Read(OpenInput());

    /// <summary>The texts given as arguments, else the lines of stdin: what `translate`, `fill-mask` and `classify` read.</summary>
    public static string[] ArgumentsOrLines(string[]? arguments) => arguments is { Length: > 0 } ? arguments : InputLines().ToArray();
}
