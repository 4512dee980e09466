namespace Transformers;

/// <summary>Writes files so that a crash or Ctrl-C never leaves a half-written one: temp file in the same folder, then rename.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<string> writeTo)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            writeTo(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}

/// <summary>
/// Replaces a whole directory so that no kill, at any instant, loses it. POSIX cannot rename a directory over a non-empty
/// one, so a replacement takes two renames, and <see cref="Recover"/> repairs whatever a kill between them left:
/// <list type="number">
/// <item>the new files are written into <c>.NAME.PID.tmp</c> beside <c>NAME</c> (a kill here leaves NAME as it was);</item>
/// <item><c>NAME</c> is renamed to <c>NAME.old</c> (a kill after it leaves no NAME, but a complete NAME.old and a
///       complete temp directory);</item>
/// <item>the temp directory is renamed to <c>NAME</c> (a kill after it leaves both NAME and NAME.old);</item>
/// <item><c>NAME.old</c> is deleted.</item>
/// </list>
/// <see cref="Recover"/> puts back a NAME that is missing — from the temp directory if the caller can verify it is
/// complete (checkpoints carry a manifest written last), else from NAME.old — and removes every leftover.
/// </summary>
public static class AtomicDirectory
{
    /// <summary>The points of <see cref="Write"/> at which a kill leaves a distinct state on disk (for fault-injection tests).</summary>
    public static readonly IReadOnlyList<string> Steps = ["filled", "old-moved", "new-moved", "old-deleted"];

    /// <summary>Test seam: called at each of <see cref="Steps"/>, with the directory; throwing <see cref="SimulatedKill"/> leaves the disk as a kill would.</summary>
    internal static Action<string, string>? AtStep;

    /// <summary>Thrown by tests through <see cref="AtStep"/>: <see cref="Write"/> then cleans up nothing, as a killed process would not.</summary>
    internal sealed class SimulatedKill(string step) : Exception($"simulated kill after step '{step}' of a directory replacement");

    /// <param name="dir">The directory to create or replace.</param>
    /// <param name="fill">Writes the files into the temporary directory it is given.</param>
    public static void Write(string dir, Action<string> fill)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        var old = full + ".old";
        RestoreFromOld(full, old);                                                           // a kill's NAME.old may be the only copy
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            Step("filled", full);
            if (Directory.Exists(full)) Directory.Move(full, old);
            Step("old-moved", full);
            Directory.Move(tmp, full);
            Step("new-moved", full);
            if (Directory.Exists(old)) Directory.Delete(old, true);
            Step("old-deleted", full);
        }
        catch (Exception e) when (e is not SimulatedKill)
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            RestoreFromOld(full, old);
            throw;
        }
    }

    /// <summary>Puts NAME.old back as NAME when NAME is missing, else removes it (NAME is complete: NAME.old is a leftover).</summary>
    private static void RestoreFromOld(string full, string old)
    {
        if (!Directory.Exists(old)) return;
        if (Directory.Exists(full)) Directory.Delete(old, true);
        else Directory.Move(old, full);
    }

    private static void Step(string name, string dir) => AtStep?.Invoke(name, dir);

    /// <summary>
    /// Repairs what a killed <see cref="Write"/> of <paramref name="dir"/> left: restores a missing directory from a
    /// complete temp directory (when <paramref name="isComplete"/> says one is) or else from <c>NAME.old</c>, then
    /// removes <c>NAME.old</c> and the temp directories. Call it only where no other process writes the directory
    /// (a training run holds its run lock). Returns what it did, for a notice, or null when there was nothing to do.
    /// </summary>
    public static string? Recover(string dir, Func<string, bool>? isComplete = null)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        var parent = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        var old = full + ".old";
        var temps = Directory.Exists(parent) ? Directory.GetDirectories(parent, $".{name}.*.tmp") : [];
        if (!Directory.Exists(old) && temps.Length == 0) return null;
        string? done = null;
        if (!Directory.Exists(full))
        {
            var complete = isComplete is null ? null : temps.FirstOrDefault(isComplete);
            if (complete is not null) { Directory.Move(complete, full); done = $"{name}/ restored from the complete copy a killed save left ({Path.GetFileName(complete)})"; }
            else if (Directory.Exists(old)) { Directory.Move(old, full); done = $"{name}/ restored from {name}.old/, the copy a killed save was replacing"; }
        }
        if (Directory.Exists(old)) Directory.Delete(old, true);
        foreach (var t in temps)
            if (Directory.Exists(t)) Directory.Delete(t, true);
        return done ?? $"removed what a killed save of {name}/ left behind";
    }
}
