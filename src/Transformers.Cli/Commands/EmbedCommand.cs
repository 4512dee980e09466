using System.CommandLine;

namespace Transformers.Cli.Commands;

public static class EmbedCommand
{
    public static Command Create()
    {
        var cmd = new Command("embed", "Sentence embeddings and a cosine-similarity matrix (built-in all-MiniLM-L6-v2).");
        cmd.SetAction(_ => { Console.WriteLine("not implemented yet"); return 0; });
        return cmd;
    }
}
