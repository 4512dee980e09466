using Transformers.Training;

namespace Transformers.Cli.Tests;

/// <summary>The error funnel: one line and an exit code per kind of failure, the stack trace only when asked for.</summary>
[Collection(CliCollection.Name)]
public sealed class CliErrorsTests
{
    private static (int Code, string Err) Report(Exception e, string? debug = null)
    {
        var (oldErr, oldDebug) = (Console.Error, Environment.GetEnvironmentVariable(CliErrors.DebugVariable));
        var err = new StringWriter();
        try
        {
            Console.SetError(err);
            Environment.SetEnvironmentVariable(CliErrors.DebugVariable, debug);
            int code = CliErrors.Run(() => throw e);
            return (code, err.ToString());
        }
        finally
        {
            Console.SetError(oldErr);
            Environment.SetEnvironmentVariable(CliErrors.DebugVariable, oldDebug);
        }
    }

    [Fact]
    public void Expected_OneLine_Exit1()
    {
        var (code, err) = Report(new FileNotFoundException("x.tsv: file not found"));
        Assert.Equal((1, "error: x.tsv: file not found\n"), (code, err.ReplaceLineEndings("\n")));
    }

    [Fact]
    public void Divergence_OneLine_Exit3()
    {
        var (code, err) = Report(new TrainingDivergedException("the loss became NaN at step 3"));
        Assert.Equal((3, "error: training diverged: the loss became NaN at step 3\n"), (code, err.ReplaceLineEndings("\n")));
    }

    [Fact]
    public void Unexpected_OneLineNamingTheType_AndTheDebugHint_Exit70()
    {
        var (code, err) = Report(new NullReferenceException("oops"));
        Assert.Equal((70, "error: unexpected System.NullReferenceException: oops (set TRANSFORMERS_DEBUG=1 for the stack trace)\n"),
                     (code, err.ReplaceLineEndings("\n")));
    }

    [Fact]
    public void MultiLineMessage_FirstLineOnly_UnlessDebug()
    {
        Exception Thrown()
        {
            try { throw new InvalidDataException("bad tensor\nException raised from foo at bar.cpp:12\nframe #0: baz"); }
            catch (Exception e) { return e; }
        }
        var (code, err) = Report(Thrown());
        Assert.Equal((1, "error: bad tensor\n"), (code, err.ReplaceLineEndings("\n")));
        var (_, debug) = Report(Thrown(), debug: "1");
        Assert.StartsWith("error: bad tensor\nSystem.IO.InvalidDataException: bad tensor", debug.ReplaceLineEndings("\n"));
        Assert.Contains("   at ", debug);
    }

    [Fact]
    public void SingleInnerAggregate_ReportedAsItsInner()
    {
        var (code, err) = Report(new AggregateException(new TrainingDivergedException("NaN")));
        Assert.Equal(3, code);
        Assert.StartsWith("error: training diverged: NaN", err);
    }
}
