using System.Runtime.InteropServices;

namespace Transformers.Cli;

/// <summary>
/// Ctrl-C and SIGTERM (a job scheduler, the end of a session) ask a long-running command to stop after its current step
/// and save a checkpoint: <see cref="Token"/> is cancelled and a line says so. Disposing unregisters both.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource cts = new();
    private readonly PosixSignalRegistration term;
    private readonly ConsoleCancelEventHandler onCancel;

    public CancellationToken Token => cts.Token;

    public Interruption()
    {
        onCancel = (_, e) =>
        {
            e.Cancel = true;
            Stop("Ctrl-C");
        };
        Console.CancelKeyPress += onCancel;
        term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            Stop("SIGTERM");
        });
    }

    private void Stop(string what)
    {
        cts.Cancel();
        Console.Error.WriteLine($"\n{what}: finishing this step and saving a checkpoint...");
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= onCancel;
        term.Dispose();
        cts.Dispose();
    }
}
