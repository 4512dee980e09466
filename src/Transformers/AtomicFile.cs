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
/// Writes a whole directory so that readers see the old one or the new one, never a mix: the files go into a temporary
/// sibling, which then replaces the directory by rename (the old one is removed only once the new one is complete).
/// </summary>
public static class AtomicDirectory
{
    /// <param name="dir">The directory to create or replace.</param>
    /// <param name="fill">Writes the files into the temporary directory it is given.</param>
    public static void Write(string dir, Action<string> fill)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            var old = full + ".old";
            if (Directory.Exists(old)) Directory.Delete(old, true);
            if (Directory.Exists(full)) Directory.Move(full, old);
            Directory.Move(tmp, full);
            if (Directory.Exists(old)) Directory.Delete(old, true);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        }
    }
}
