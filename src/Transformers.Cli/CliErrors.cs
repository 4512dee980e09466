namespace Transformers.Cli;

/// <summary>Turns the library's expected failures into one clear line on stderr (exit code 1) instead of a stack trace.</summary>
public static class CliErrors
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException
                                      or DirectoryNotFoundException or InvalidOperationException
                                      or TorchRuntimeException or IOException
                                      or UnauthorizedAccessException or Transformers.Training.TrainingDivergedException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
