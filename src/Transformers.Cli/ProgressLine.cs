using System.Diagnostics;
using Transformers.Training;

namespace Transformers.Cli;

/// <summary>
/// Progress on stderr: step, epoch, loss, tokens/s, learning rate, elapsed and ETA. On a terminal one line redrawn in
/// place four times a second; into a file or pipe (nohup, a job scheduler) a plain line every 30 seconds, so logs stay
/// readable and small.
/// </summary>
internal sealed class ProgressLine(TrainerOptions options, bool terminal)
{
    private readonly Stopwatch redraw = Stopwatch.StartNew();
    private double tokensPerSecond;
    private string Start => terminal ? "\r" : "";
    private string Pad => terminal ? new string(' ', 20) : "";

    public void Step(StepRecord r, TrainerState state)
    {
        tokensPerSecond = tokensPerSecond == 0 ? r.TokensPerSecond : 0.9 * tokensPerSecond + 0.1 * r.TokensPerSecond;
        if (redraw.ElapsedMilliseconds < (terminal ? 250 : 30_000)) return;
        redraw.Restart();
        string eta = "";
        if (options.MaxSeconds > 0) eta = $" ETA {Clock(Math.Max(0, options.MaxSeconds - r.ElapsedSeconds))}";
        else if (options.MaxSteps > 0) eta = $" ETA {Clock(r.ElapsedSeconds / r.Step * (options.MaxSteps - r.Step))}";
        double fraction = options.MaxSeconds > 0 ? r.ElapsedSeconds / options.MaxSeconds : options.MaxSteps > 0 ? (double)r.Step / options.MaxSteps : 0;
        int filled = (int)Math.Clamp(fraction * 20, 0, 20);
        var bar = fraction > 0 ? "[" + new string('#', filled) + new string('.', 20 - filled) + "] " : "";
        var line = $"{bar}step {r.Step} ep {r.Epoch} loss {r.Loss:F3} {tokensPerSecond:N0} tok/s lr {r.LearningRate:E2} {Clock(r.ElapsedSeconds)}{eta}";
        if (terminal) Console.Error.Write($"\r{line}   ");
        else Console.Error.WriteLine(line);
    }

    public void Eval(EvalRecord e, bool improved) =>
        Console.Error.WriteLine($"{Start}  eval @ step {e.Step}: dev loss {e.DevLoss:F3} (ppl {e.DevPerplexity:F1})" +
                                (e.DevBleu is { } b ? $", dev BLEU {b:F2}" : "") + (improved ? "  * best" : "") + Pad);

    /// <summary>"04:16" under an hour, "1:59:35" from an hour on.</summary>
    private static string Clock(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t:mm\\:ss}" : t.ToString("mm\\:ss");
    }

    public void Notice(string message) => Console.Error.WriteLine(Start + message);

    public void Done()
    {
        if (terminal) Console.Error.WriteLine();                              // ends the line redrawn in place
    }
}
