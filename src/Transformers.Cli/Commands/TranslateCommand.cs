using System.CommandLine;
using Transformers.Translation;

namespace Transformers.Cli.Commands;

/// <summary>`transformers translate`: French to English with a run, a checkpoint or the built-in translator.</summary>
public static class TranslateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Run or checkpoint directory, or builtin (the translator that ships with this build).", Required = true }
            .ExistingModel(BuiltInTranslator.Name);
        var beam = BeamOption();
        // HF generate's length_penalty; GNMT's α (LengthPenalty.Score). --alpha is the older name.
        var alpha = new Option<double>("--length-penalty", "--alpha") { Description = "Beam search: GNMT length penalty α in [0, 5] (0: none; larger favours longer translations).", DefaultValueFactory = _ => 0.6 }
            .Within(0, 5);
        var nbest = new Option<int>("--nbest") { Description = "Print the n best translations (tab-separated with scores), 1..--beam.", DefaultValueFactory = _ => 1 }
            .Within(1, MaxBeam);
        var sentences = new Argument<string[]>("sentences") { Description = "French sentences (none: stdin lines).", Arity = ArgumentArity.ZeroOrMore };
        var runtime = new ModelRuntime();
        var cmd = new Command("translate", "Translate French to English: arguments or stdin lines to stdout.") { model, beam, alpha, nbest, sentences };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            int n = parse.GetValue(nbest);
            if (n > parse.GetValue(beam)) throw new ArgumentException($"--nbest {n}: must be at most --beam ({parse.GetValue(beam)}); the beam holds the candidates");
            var (m, tokenizer, spacing) = runtime.Load(parse, parse.GetValue(model)!);
            using var _ = m;
            var input = StandardStreams.ArgumentsOrLines(parse.GetValue(sentences));
            var translator = new TextTranslator(m, tokenizer)
            {
                Spacing = spacing,
                Truncated = (i, n, kept) => Console.Error.WriteLine($"warning: line {i + 1} has {n} tokens; the model takes {kept}: truncated"),
            };
            var options = new DecodingOptions { BeamSize = parse.GetValue(beam), Alpha = parse.GetValue(alpha), NBest = n };
            foreach (var hyps in translator.TranslateNBest(input, options))
                Console.WriteLine(n == 1 ? (hyps.Count == 0 ? "" : hyps[0].Text) : string.Join("\t", hyps.Select(h => $"{h.Text}\t{h.Score:F4}")));
            return 0;
        });
        return cmd;
    }

    /// <summary>The largest beam `translate` and `evaluate` take: wider beams cost time in proportion and do not help (BLEU peaks near 4 to 10).</summary>
    public const int MaxBeam = 100;

    /// <summary>`--beam` of `translate` and `evaluate --model`: the same rule in both.</summary>
    public static Option<int> BeamOption() =>
        new Option<int>("--beam") { Description = $"Beam size, 1..{MaxBeam} (1: greedy).", DefaultValueFactory = _ => 5 }.Within(1, MaxBeam);
}
