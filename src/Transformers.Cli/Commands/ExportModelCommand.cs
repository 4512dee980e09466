using System.CommandLine;
using Transformers.Training;

namespace Transformers.Cli.Commands;

/// <summary>
/// `transformers export-model --model runs/NAME [--checkpoint best|last|averaged|tokens-N] --out DIR`: a self-contained
/// inference directory (float16 weights, vocabulary, spacing, provenance), the form the built-in translator ships in.
/// </summary>
public static class ExportModelCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Run or checkpoint directory.", Required = true }.ExistingModel();
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Which checkpoint of the run: best, last, averaged or tokens-N (default: best, else last)." };
        var output = new Option<string>("--out") { Description = "The model directory to write (replaced whole); src/Transformers/BuiltIn/fr-en makes the built-in translator.", Required = true }.OutputDirectory();
        var dtype = new Option<WeightPrecision>("--dtype") { Description = "Storage of the weights: Float16 (half the size) or Float32; loaded as float32 either way.", DefaultValueFactory = _ => WeightPrecision.Float16 }.OneOf();
        var recipe = new Option<string?>("--recipe") { Description = "Provenance: the command that trained the model." };
        var data = new Option<string?>("--data") { Description = "Provenance: the training data (e.g. bundled)." };
        var commit = new Option<string?>("--commit") { Description = "Provenance: the commit the model was trained with." };
        var testBleu = new Option<double?>("--test-bleu") { Description = "Provenance: test BLEU of the exported model (`evaluate --model DIR --split test`), in [0, 100]." }.Within(0, 100);
        var cmd = new Command("export-model", "Pack a run into a self-contained model directory for inference: float16 weights, vocabulary, spacing, provenance; no optimizer state.")
        {
            model, checkpoint, output, dtype, recipe, data, commit, testBleu,
        };
        cmd.SetAction(parse =>
        {
            TorchRuntime.EnsureLoaded();
            var provenance = new ModelProvenance
            {
                Recipe = parse.GetValue(recipe), Data = parse.GetValue(data), Commit = parse.GetValue(commit), TestBleu = parse.GetValue(testBleu),
            };
            var exported = ModelExport.Export(parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(checkpoint), parse.GetValue(dtype), provenance);
            var p = exported.Provenance;
            Console.WriteLine($"{exported.Directory}: {p.Architecture}, {p.Parameters:N0} parameters in {p.Weights}, {exported.Bytes / 1048576.0:F1} MB, from {exported.Source}" +
                              (p.Steps is { } steps ? $" (step {steps}" + (p.BestDevBleu is { } bleu ? $", best dev BLEU {bleu:F2})" : ")") : ""));
            return 0;
        });
        return cmd;
    }
}
