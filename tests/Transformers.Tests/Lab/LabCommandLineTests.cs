using Transformers.Lab;
using Transformers.Lab.Runner;

namespace Transformers.Tests.Lab;

/// <summary>The lab's command line: every experiment is a command, and a bad value is refused while parsing, in one line that names it.</summary>
public sealed class LabCommandLineTests
{
    private static IReadOnlyList<string> Errors(params string[] args) => Program.Commands().Parse(args).Errors.Select(e => e.Message).ToList();

    [Fact]
    public void EveryExperimentAndAll_IsACommand_WithTheRunOptions()
    {
        foreach (var name in LabRunner.Experiments.Select(e => e.Name).Append("all"))
            Assert.Empty(Errors(name, "--quick", "--threads", "1", "--out", "/tmp/lab"));
        foreach (var command in new[] { "list", "readme" })
            Assert.Empty(Errors(command));
        Assert.Empty(Errors("throughput", "--threads", "1", "--dir", "throughput-1-thread"));
    }

    [Theory]
    [InlineData("no-such-experiment", "no-such-experiment")]
    [InlineData("bidirectional --threads 0", "--threads 0: must be at least 1")]
    [InlineData("bidirectional --threads two", "--threads two: not an integer")]
    [InlineData("bidirectional --fast", "--fast")]
    [InlineData("translators", "translators")]
    [InlineData("translators runs/a --beam 0", "--beam 0: must be at least 1")]
    [InlineData("curves A=runs/a", "--out")]
    [InlineData("curves --out x.png runs/a", "'runs/a': expected NAME=PATH")]
    [InlineData("scalar-gc --seconds 0", "--seconds 0")]
    [InlineData("scalar-gc --garbage 0", "--garbage 0: must be at least 1")]
    [InlineData("reference-workloads --models gru,foo", "--models: unknown model 'foo'")]
    [InlineData("reference-workloads --lengths 16,x", "--lengths: 'x' is not a length")]
    [InlineData("reference-workloads --rounds 0", "--rounds 0: must be at least 1")]
    [InlineData("replot throughput /no/such/dir", "/no/such/dir: no results.json in it")]
    [InlineData("throughput --dir a/b", "--dir a/b: a folder name under the results root, without '/'")]
    [InlineData("throughput --dir ..", "--dir ..: a folder name under the results root")]
    [InlineData("all --dir x", "--dir")]
    public void BadCommandLine_IsRefusedWhileParsing_NamingWhatIsWrong(string commandLine, string expected)
    {
        var errors = Errors(commandLine.Split(' '));
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Bench_PassesItsArgumentsToBenchmarkDotNet()
    {
        var parse = Program.Commands().Parse(["bench", "--filter", "*Cell*"]);
        Assert.Empty(parse.Errors);
        Assert.Equal(["--filter", "*Cell*"], parse.UnmatchedTokens);
    }
}
