using System.CommandLine;
using System.Diagnostics;
using Transformers.Data;
using Transformers.Evaluation;
using Transformers.Translation;

namespace Transformers.Cli.Commands;

/// <summary>
/// <c>transformers evaluate --hyp FILE --ref FILE [FILE...]</c>: corpus BLEU and chrF2 as sacreBLEU 2.x
/// computes them by default, with their signatures. One segment per line; several --ref files are
/// several references per segment. With --model, a split of --data (the bundled corpus by default) is translated first.
/// </summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var hyp = new Option<string>("--hyp") { Description = "Hypothesis file: one detokenized translation per line (UTF-8; lines end at \\n or \\r\\n)." }.ExistingFiles();
        var refs = new Option<string[]>("--ref")
        {
            Description = "Reference file(s), line-aligned with --hyp; give several for several references per segment.",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        }.ExistingFiles();
        var tokenize = new Option<BleuTokenization>("--tokenize")
        {
            Description = "BLEU tokenization: Mteval13a (sacreBLEU's 13a, the default) or None.",
            DefaultValueFactory = _ => BleuTokenization.Mteval13a,
        }.OneOf();
        var lowercase = new Option<bool>("--lowercase") { Description = "Case-insensitive BLEU and chrF." };
        var model = new Option<string>("--model") { Description = "Translate a split of --data (default: the bundled corpus) with this run or checkpoint (or builtin, the built-in translator), then score it (instead of --hyp/--ref)." }
            .ExistingModel(BuiltInTranslator.Name);
        var split = new Option<SplitPart>("--split") { Description = "With --model: dev or test.", DefaultValueFactory = _ => SplitPart.Test }.OneOf([SplitPart.Dev, SplitPart.Test]);
        var beam = TranslateCommand.BeamOption();
        var limit = new Option<int>("--limit") { Description = "With --model: first N sentences only (0: all).", DefaultValueFactory = _ => 0 }.AtLeast(0);

        var cmd = new Command("evaluate", "Corpus BLEU and chrF2 of a hypothesis file against reference files (sacreBLEU-compatible).");
        cmd.Options.Add(hyp);
        cmd.Options.Add(refs);
        cmd.Options.Add(tokenize);
        cmd.Options.Add(lowercase);
        var data = new Option<string[]>("--data") { Description = "With --model: the corpus whose split is scored (as train's --data).", DefaultValueFactory = _ => [BundledCorpus.Name], AllowMultipleArgumentsPerToken = true }.ExistingCorpus();
        var runtime = new ModelRuntime();                                   // --threads, --device: with --model
        foreach (var o in new Option[] { model, split, beam, limit, data }) cmd.Options.Add(o);
        runtime.AddTo(cmd);
        cmd.SetAction(parseResult =>
        {
            if (parseResult.GetValue(model) is not null && (parseResult.GetValue(hyp) is not null || parseResult.GetValue(refs) is { Length: > 0 }))
                throw new ArgumentException("--model translates and scores a split itself: give either --model or --hyp and --ref, not both");
            if (parseResult.GetValue(model) is { } dir)
                return EvaluateModel(parseResult, runtime, dir, parseResult.GetValue(split), parseResult.GetValue(beam), parseResult.GetValue(limit),
                                     parseResult.GetValue(data)!);
            var hypPath = parseResult.GetValue(hyp) ?? throw new ArgumentException("--hyp FILE is required");
            var refPaths = parseResult.GetValue(refs) ?? [];
            if (refPaths.Length == 0) throw new ArgumentException("at least one --ref FILE is required");
            var (hypotheses, references) = ReferenceSet.ReadFiles(hypPath, refPaths);
            var bleuOptions = new BleuOptions { Tokenization = parseResult.GetValue(tokenize), Lowercase = parseResult.GetValue(lowercase) };
            var chrfOptions = new ChrFOptions { Lowercase = parseResult.GetValue(lowercase) };
            Console.WriteLine(Report(hypotheses, references, bleuOptions, chrfOptions));
            return 0;
        });
        return cmd;
    }

    /// <summary>`evaluate --model DIR --split dev|test [--data ...]`: translate a split and score it.</summary>
    private static int EvaluateModel(ParseResult parse, ModelRuntime runtime, string dir, SplitPart part, int beam, int limit, string[] data)
    {
        var pairs = CorpusSplit.Load(data).Require(string.Join(" ", data), part)[part];
        if (limit > 0) pairs = pairs.Take(limit).ToList();
        var (model, tokenizer, spacing) = runtime.Load(parse, dir);
        string splitName = OptionRules.EnumName(part);
        using var _ = model;
        var clock = Stopwatch.StartNew();
        var hyps = new TextTranslator(model, tokenizer) { Spacing = spacing }.Translate(pairs.Select(p => p.Source).ToList(), new DecodingOptions { BeamSize = beam });
        Console.WriteLine($"{pairs.Count} {splitName} sentences translated in {clock.Elapsed.TotalSeconds:F1} s (beam {beam}) by {dir}");
        Console.WriteLine(EvaluateCommand.Report(hyps, [pairs.Select(p => p.Target).ToList()]));
        Console.WriteLine();
        for (int i = 0; i < Math.Min(5, pairs.Count); i++)
            Console.WriteLine($"  fr:  {pairs[i].Source}\n  ref: {pairs[i].Target}\n  out: {hyps[i]}\n");
        return 0;
    }

    /// <summary>The printed report: BLEU and chrF lines, then their signatures.</summary>
    public static string Report(
        IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references, BleuOptions? bleuOptions = null, ChrFOptions? chrfOptions = null)
    {
        var bleu = Bleu.Corpus(hypotheses, references, bleuOptions);
        var chrf = ChrF.Corpus(hypotheses, references, chrfOptions);
        return string.Join(Environment.NewLine,
            bleu.ToString(),
            chrf.ToString(),
            $"BLEU signature: {bleu.Signature}",
            $"chrF signature: {chrf.Signature}");
    }
}
