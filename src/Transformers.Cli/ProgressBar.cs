using Transformers.Tokenizer.Training;

namespace Transformers.Cli;

/// <summary>One self-overwriting line on stderr: phase, bar, percentage.</summary>
internal sealed class ProgressBar : IProgress<TrainingProgress>
{
    private readonly object _gate = new();
    private string _lastLine = "";

    public void Report(TrainingProgress value)
    {
        double fraction = value.Total > 0 ? Math.Clamp((double)value.Done / value.Total, 0, 1) : 0;
        int filled = (int)(fraction * 30);
        string line = $"\r{value.Phase,-9}[{new string('#', filled)}{new string('.', 30 - filled)}] {fraction,4:P0}";
        lock (_gate)
        {
            if (line == _lastLine) return;
            _lastLine = line;
            Console.Error.Write(line);
        }
    }

    public void Finish()
    {
        lock (_gate)
            if (_lastLine.Length > 0) Console.Error.WriteLine();
    }
}
