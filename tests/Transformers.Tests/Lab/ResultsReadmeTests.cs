using Transformers.Lab.Runner;

namespace Transformers.Tests.Lab;

public sealed class ResultsReadmeTests
{
    [Fact]
    public void OtherReports_AreListedWithTheirTitles_InNameOrder()
    {
        var root = Path.Combine(Path.GetTempPath(), "lab-readme-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "zeta"));
            File.WriteAllText(Path.Combine(root, "zeta", "report.md"), "\n# Zeta: a hand-made report \nbody\n# not the title\n");
            Directory.CreateDirectory(Path.Combine(root, "alpha"));
            File.WriteAllText(Path.Combine(root, "alpha", "report.md"), "no heading here\n");
            Directory.CreateDirectory(Path.Combine(root, "empty"));   // no report: not listed

            LabRunner.WriteReadme(root);

            var lines = File.ReadAllLines(Path.Combine(root, "README.md"));
            Assert.Equal(["- [alpha](alpha/report.md)", "- [zeta](zeta/report.md): Zeta: a hand-made report"],
                         lines.Where(l => l.StartsWith("- [", StringComparison.Ordinal)));
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
