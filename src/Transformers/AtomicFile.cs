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
