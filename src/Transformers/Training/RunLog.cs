using System.Diagnostics;

namespace Transformers.Training;

/// <summary>What the translator's and the BERT trainer's train.jsonl have in common.</summary>
internal static class RunLog
{
    /// <summary>
    /// The log, honest across kills and resumes: a fresh run starts a new one; a resumed one first cuts it back to the
    /// lines <paramref name="keep"/> accepts (the steps and evaluations its checkpoint holds: a kill after the checkpoint
    /// logged steps that will be trained again) and drops a line a kill cut in half, so every step appears once.
    /// </summary>
    public static StreamWriter Open(string path, bool fresh, Func<string, bool> keep)
    {
        if (!fresh && File.Exists(path))
        {
            var kept = File.ReadLines(path).Where(keep).ToList();
            AtomicFile.Write(path, tmp => File.WriteAllLines(tmp, kept));
        }
        return new StreamWriter(path, append: !fresh) { AutoFlush = true };
    }

    /// <summary>The process's peak resident set size so far (VmHWM on Linux), for memory reports.</summary>
    public static long PeakResidentBytes()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64;
    }

    /// <summary>The process's resident set size now (VmRSS on Linux): flat over a run that leaks nothing, where the peak only says the most it ever held.</summary>
    public static long ResidentBytes()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }
}
