using System.CommandLine;
using TorchSharp;
using Transformers.Tokenizer;
using Transformers.Training;
using Transformers.Translation;

namespace Transformers.Cli.Commands;

/// <summary>
/// Where a command that runs a trained model runs it: <c>--threads</c> and <c>--device</c>, the same options (and rules)
/// as <c>train</c>'s, in <c>translate</c>, <c>evaluate --model</c> and <c>heads</c>.
/// </summary>
internal sealed class ModelRuntime
{
    public readonly Option<int> Threads = new Option<int>("--threads") { Description = "libtorch threads, at least 1.", DefaultValueFactory = _ => Environment.ProcessorCount }.AtLeast(1);
    public readonly Option<string> Device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" }.Device();

    public void AddTo(Command command)
    {
        command.Options.Add(Threads);
        command.Options.Add(Device);
    }

    /// <summary>Loads libtorch, sets its threads, and opens the device (an unavailable one is an error naming it).</summary>
    public TorchSharp.torch.Device Start(ParseResult parse)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(parse.GetValue(Threads));
        return TorchRuntime.Device(parse.GetValue(Device));
    }

    /// <summary>A run, checkpoint or the built-in translator on the device: the model (eval mode), its tokenizer and spacing.</summary>
    public (Seq2SeqModel Model, WordPieceTokenizer Tokenizer, SpacingModel? Spacing) Load(ParseResult parse, string dir)
    {
        var device = Start(parse);
        var loaded = Checkpoint.Load(dir);
        loaded.Model.PrepareForDecoding(device);
        return (loaded.Model, loaded.Tokenizer(), loaded.Spacing());
    }
}
