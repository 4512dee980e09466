namespace Transformers.Data;

/// <summary>
/// A malformed corpus input: names the file, where in it (a line, an entry or a byte offset) and,
/// when known, the field that is wrong. The message reads "file, line 12, column 2 (source): reason".
/// An <see cref="IOException"/> (InvalidDataException is sealed) so callers that handle I/O failures handle it too.
/// </summary>
public sealed class CorpusFormatException : IOException
{
    public CorpusFormatException(string file, string location, string? field, string reason, Exception? inner = null)
        : base(Format(file, location, field, reason), inner)
    {
        File = file;
        Location = location;
        Field = field;
        Reason = reason;
    }

    /// <summary>The file the error was found in.</summary>
    public string File { get; }

    /// <summary>"line 12", "entry 3", "offset 28", or "" for a whole-file error.</summary>
    public string Location { get; }

    /// <summary>The column or field at fault ("column 2 (source)", "msgstr"), or null.</summary>
    public string? Field { get; }

    /// <summary>What is wrong, without the location prefix.</summary>
    public string Reason { get; }

    private static string Format(string file, string location, string? field, string reason)
    {
        var where = file;
        if (location.Length > 0) where += ", " + location;
        if (field is not null) where += ", " + field;
        return $"{where}: {reason}";
    }
}

/// <summary>What a reader does with a malformed record.</summary>
public enum ErrorPolicy
{
    /// <summary>Throw <see cref="CorpusFormatException"/> at the first malformed record (the default).</summary>
    Fail,

    /// <summary>Skip malformed records, count them, and keep the first few errors for the summary.</summary>
    SkipAndCount,
}

/// <summary>
/// Collects the malformed records a reader skipped under <see cref="ErrorPolicy.SkipAndCount"/>,
/// or throws at the first one under <see cref="ErrorPolicy.Fail"/>.
/// </summary>
public sealed class ReadErrors
{
    /// <summary>How many errors are kept verbatim for the summary.</summary>
    public const int KeptErrors = 10;

    private readonly List<CorpusFormatException> _first = [];

    public ReadErrors(ErrorPolicy policy) => Policy = policy;

    public ErrorPolicy Policy { get; }

    /// <summary>Number of records skipped.</summary>
    public int Skipped { get; private set; }

    /// <summary>The first <see cref="KeptErrors"/> errors, in reading order.</summary>
    public IReadOnlyList<CorpusFormatException> FirstErrors => _first;

    /// <summary>Throws under <see cref="ErrorPolicy.Fail"/>; otherwise counts the error.</summary>
    public void Report(CorpusFormatException error)
    {
        if (Policy == ErrorPolicy.Fail) throw error;
        Skipped++;
        if (_first.Count < KeptErrors) _first.Add(error);
    }

    /// <summary>One line, then one line per kept error: "skipped 3 malformed records; first: ...".</summary>
    public string Summary()
    {
        if (Skipped == 0) return "no malformed records";
        var lines = new List<string> { $"skipped {Skipped} malformed record(s); the first {_first.Count}:" };
        lines.AddRange(_first.Select(e => "  " + e.Message));
        return string.Join(Environment.NewLine, lines);
    }
}
