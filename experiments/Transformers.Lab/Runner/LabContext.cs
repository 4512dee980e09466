namespace Transformers.Lab.Runner;

/// <summary>What an experiment gets from the runner: its size, its folder, the machine stamp and plotting.</summary>
public sealed class LabContext(bool quick, string directory, MachineStamp stamp, TextWriter log)
{
    /// <summary>Tiny sizes (seconds, for the test suite) instead of the full run.</summary>
    public bool Quick { get; } = quick;

    /// <summary>The experiment's own output folder (exists).</summary>
    public string Directory { get; } = directory;

    public MachineStamp Stamp { get; } = stamp;

    /// <summary>Progress lines (console, or nowhere in tests).</summary>
    public void Log(string message) => log.WriteLine(message);

    /// <summary>Renders <paramref name="plot"/> to <paramref name="fileName"/> in the experiment's folder.</summary>
    public PlotFile Save(LinePlot plot, string fileName, string caption)
    {
        PlotRenderer.Save(plot, Stamp, Path.Combine(Directory, fileName));
        return new PlotFile(fileName, caption);
    }

    /// <inheritdoc cref="Save(LinePlot, string, string)"/>
    public PlotFile Save(BarPlot plot, string fileName, string caption)
    {
        PlotRenderer.Save(plot, Stamp, Path.Combine(Directory, fileName));
        return new PlotFile(fileName, caption);
    }
}
