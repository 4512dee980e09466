namespace Transformers.Cli.Tests;

/// <summary>
/// Bad input, end to end: every row runs the CLI once and expects its exit code and one line on stderr that names
/// what is wrong (the option as typed, the limit, the file and line), and never a stack trace. <c>{name}</c> in a row
/// is the path of fixture file <c>name</c> (<see cref="CliFiles"/>). Rows that train stop at parse time or within a
/// few tiny steps.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class BadInputTests(CliFiles files)
{
    private const int Failed = 1, Diverged = 3;

    public static TheoryData<string, string, int, string> Cases => new()
    {
        // kind                                 command line                                                          exit     stderr names
        // ---- translate
        { "beam 0",                             "translate --model {run} --beam 0 chat",                              Failed,  "--beam 0: must be in 1..100" },
        { "beam negative",                      "translate --model {run} --beam -1 chat",                             Failed,  "--beam -1: must be in 1..100" },
        { "beam too wide",                      "translate --model {run} --beam 10000 chat",                          Failed,  "--beam 10000: must be in 1..100" },
        { "beam not a number",                  "translate --model {run} --beam five chat",                           Failed,  "--beam five: not an integer; must be in 1..100" },
        { "alpha NaN",                          "translate --model {run} --alpha nan chat",                           Failed,  "--alpha nan: not a finite number; must be a number in [0, 5]" },
        { "alpha infinite",                     "translate --model {run} --alpha Infinity chat",                      Failed,  "--alpha Infinity: not a finite number" },
        { "alpha out of range",                 "translate --model {run} --alpha 100 chat",                           Failed,  "--alpha 100: must be a number in [0, 5]" },
        { "length penalty negative",            "translate --model {run} --length-penalty 6 chat",                    Failed,  "--length-penalty 6: must be a number in [0, 5]" },
        { "nbest 0",                            "translate --model {run} --nbest 0 chat",                             Failed,  "--nbest 0: must be in 1..100" },
        { "nbest above the default beam",       "translate --model {run} --nbest 6 chat",                             Failed,  "--nbest 6: must be at most --beam (5)" },
        { "nbest above beam",                   "translate --model {run} --beam 2 --nbest 3 chat",                    Failed,  "--nbest 3: must be at most --beam (2)" },
        { "model option missing",               "translate chat",                                                     Failed,  "--model" },
        { "model dir missing",                  "translate --model {nowhere} chat",                                   Failed,  "--model {nowhere}: no such directory" },
        { "model is a file",                    "translate --model {a-file} chat",                                    Failed,  "--model {a-file}: is a file" },
        { "model dir not a checkpoint",         "translate --model {empty-dir} chat",                                 Failed,  "{empty-dir} is not a checkpoint" },
        { "checkpoint without weights",         "translate --model {no-weights} chat",                                Failed,  "model.safetensors" },
        { "checkpoint, truncated weights",      "translate --model {truncated} chat",                                 Failed,  "{truncated}/model.safetensors" },
        { "checkpoint without vocab.txt",       "translate --model {no-vocab} chat",                                  Failed,  "vocab.txt" },
        { "checkpoint, vocab.txt too short",    "translate --model {short-vocab} chat",                               Failed,  "{short-vocab}/vocab.txt has 10 tokens" },
        { "checkpoint, model.json not JSON",    "translate --model {bad-json} chat",                                  Failed,  "{bad-json}/model.json" },
        // ---- evaluate
        { "evaluate beam 0",                    "evaluate --model {run} --beam 0",                                    Failed,  "--beam 0: must be in 1..100" },
        { "evaluate beam too wide",             "evaluate --model {run} --beam 10000",                                Failed,  "--beam 10000: must be in 1..100" },
        { "evaluate split unknown",             "evaluate --model {run} --split train",                               Failed,  "--split train: use dev or test" },
        { "evaluate limit negative",            "evaluate --model {run} --limit -1",                                  Failed,  "--limit -1: must be at least 0" },
        { "evaluate threads 0",                 "evaluate --model {run} --threads 0",                                 Failed,  "--threads 0: must be at least 1" },
        { "evaluate tokenize unknown",          "evaluate --hyp {hyp.txt} --ref {ref.txt} --tokenize intl",           Failed,  "--tokenize intl: use mteval13a or none" },
        { "evaluate hyp missing",               "evaluate --hyp {nowhere.txt} --ref {ref.txt}",                       Failed,  "--hyp {nowhere.txt}: file not found" },
        { "evaluate hyp is a directory",        "evaluate --hyp {empty-dir} --ref {ref.txt}",                         Failed,  "--hyp {empty-dir}: is a directory; give a file" },
        { "evaluate ref missing",               "evaluate --hyp {hyp.txt} --ref {nowhere.txt}",                       Failed,  "--ref {nowhere.txt}: file not found" },
        { "evaluate without ref",               "evaluate --hyp {hyp.txt}",                                           Failed,  "--ref FILE" },
        { "evaluate without hyp or model",      "evaluate",                                                           Failed,  "--hyp FILE is required" },
        { "evaluate line counts differ",        "evaluate --hyp {hyp.txt} --ref {ref3.txt}",                          Failed,  "{ref3.txt}: line counts differ: 3 reference lines, 2 hypothesis lines" },
        { "evaluate hyp empty",                 "evaluate --hyp {empty.tsv} --ref {ref.txt}",                         Failed,  "{empty.tsv}: file is empty" },
        { "evaluate hyp invalid UTF-8",         "evaluate --hyp {hyp-badutf8.txt} --ref {ref.txt}",                   Failed,  "{hyp-badutf8.txt}, line 2: invalid UTF-8" },
        { "evaluate model and hyp",             "evaluate --model {run} --hyp {hyp.txt} --ref {ref.txt}",             Failed,  "either --model or --hyp and --ref" },
        { "evaluate split empty",               "evaluate --model {run} --data {small.tsv} --split dev",              Failed,  "--data {small.tsv}: too small to split: 10 train, 0 dev, 0 test pairs" },
        // ---- vocab
        { "vocab encode, empty directory",      "vocab encode --vocab {empty-dir}",                                   Failed,  "{empty-dir} is not a checkpoint" },
        { "vocab encode, vocab missing",        "vocab encode --vocab {nowhere.txt}",                                 Failed,  "--vocab {nowhere.txt}: no such file or directory" },
        { "vocab train size 0",                 "vocab train --input {ref.txt} --out {out.txt} --size 0",             Failed,  "--size 0: must be at least 1" },
        { "vocab train threads 0",              "vocab train --input {ref.txt} --out {out.txt} --threads 0",          Failed,  "--threads 0: must be at least 1" },
        { "vocab train min-frequency 0",        "vocab train --input {ref.txt} --out {out.txt} --min-frequency 0",    Failed,  "--min-frequency 0: must be at least 1" },
        { "vocab train limit-alphabet 0",       "vocab train --input {ref.txt} --out {out.txt} --limit-alphabet 0",   Failed,  "--limit-alphabet 0: must be at least 1" },
        { "vocab train input missing",          "vocab train --input {nowhere.txt} --out {out.txt}",                  Failed,  "--input {nowhere.txt}: file not found" },
        { "vocab train input is a directory",   "vocab train --input {empty-dir} --out {out.txt}",                    Failed,  "--input {empty-dir}: is a directory" },
        { "vocab train out is a directory",     "vocab train --input {ref.txt} --out {empty-dir}",                    Failed,  "--out {empty-dir}: is a directory; give a file path" },
        // ---- train: enums
        { "arch unknown",                       "train --out {new-run} --arch foo",                                   Failed,  "--arch foo: use transformer, lstm, gru or rnn" },
        { "preset unknown",                     "train --out {new-run} --preset huge",                                Failed,  "--preset huge: use tiny, small, matched or base" },
        { "preset as a number",                 "train --out {new-run} --preset 7",                                   Failed,  "--preset 7: use tiny, small, matched or base" },
        { "attention unknown",                  "train --out {new-run} --arch gru --attention dot",                   Failed,  "--attention dot: use none, bahdanau, luong-dot or luong-general" },
        { "attention with the transformer",     "train --out {new-run} --attention bahdanau --data {corpus.tsv}",     Failed,  "--attention bahdanau: applies to the recurrent architectures" },
        { "unidirectional with the transformer", "train --out {new-run} --unidirectional --data {corpus.tsv}",        Failed,  "--unidirectional: applies to the recurrent architectures" },
        { "lr-decay unknown",                   "train --out {new-run} --lr-decay exponential",                       Failed,  "--lr-decay exponential: use linear, cosine, inverse-sqrt or constant" },
        { "device unknown",                     "train --out {new-run} --device gpu",                                 Failed,  "--device gpu: use cpu, cuda or cuda:N" },
        // ---- train: numbers
        { "minutes negative",                   "train --out {new-run} --minutes -1",                                 Failed,  "--minutes -1: must be a number >= 0" },
        { "minutes NaN",                        "train --out {new-run} --minutes NaN",                                Failed,  "--minutes NaN: not a finite number" },
        { "max-steps negative",                 "train --out {new-run} --max-steps -5",                               Failed,  "--max-steps -5: must be at least 0" },
        { "max-epochs negative",                "train --out {new-run} --max-epochs -1",                              Failed,  "--max-epochs -1: must be at least 0" },
        { "warmup negative",                    "train --out {new-run} --warmup -1",                                  Failed,  "--warmup -1: must be at least 0" },
        { "warmup-fraction 1",                  "train --out {new-run} --warmup-fraction 1",                          Failed,  "--warmup-fraction 1: must be a number in [0, 1)" },
        { "eval-every negative",                "train --out {new-run} --eval-every -1",                              Failed,  "--eval-every -1: must be at least 0" },
        { "eval-minutes negative",              "train --out {new-run} --eval-minutes -1",                            Failed,  "--eval-minutes -1: must be a number >= 0" },
        { "average negative",                   "train --out {new-run} --average -1",                                 Failed,  "--average -1: must be at least 0" },
        { "train-limit negative",               "train --out {new-run} --train-limit -1",                             Failed,  "--train-limit -1: must be at least 0" },
        { "patience negative",                  "train --out {new-run} --patience -1",                                Failed,  "--patience -1: must be at least 0" },
        { "batch-tokens 0",                     "train --out {new-run} --batch-tokens 0",                             Failed,  "--batch-tokens 0: must be at least 1" },
        { "batch-tokens below one per worker",  "train --out {new-run} --batch-tokens 1 --threads 2 --workers 2 --data {small.tsv}", Failed, "--batch-tokens 1: must be at least 1 per worker (2 workers)" },
        { "threads 0",                          "train --out {new-run} --threads 0",                                  Failed,  "--threads 0: must be at least 1" },
        { "workers 0",                          "train --out {new-run} --workers 0",                                  Failed,  "--workers 0: must be at least 1" },
        { "workers above threads",              "train --out {new-run} --workers 3 --threads 2",                      Failed,  "--workers 3: must be at most --threads (2)" },
        { "accumulate 0",                       "train --out {new-run} --accumulate 0",                               Failed,  "--accumulate 0: must be at least 1" },
        { "vocab-size too small",               "train --out {new-run} --vocab-size 10",                              Failed,  "--vocab-size 10: must be at least 100" },
        { "dev-bleu-sentences 0",               "train --out {new-run} --dev-bleu-sentences 0",                       Failed,  "--dev-bleu-sentences 0: must be at least 1" },
        { "snapshot-tokens 0",                  "train --out {new-run} --snapshot-tokens 100 0",                      Failed,  "--snapshot-tokens 0: must be at least 1" },
        { "lr NaN",                             "train --out {new-run} --lr nan",                                     Failed,  "--lr nan: not a finite number; must be a number > 0" },
        { "lr 0",                               "train --out {new-run} --lr 0",                                       Failed,  "--lr 0: must be a number > 0" },
        { "lr negative",                        "train --out {new-run} --lr -1e-3",                                   Failed,  "--lr -1e-3: must be a number > 0" },
        { "lr-final above 1",                   "train --out {new-run} --lr-final 2",                                 Failed,  "--lr-final 2: must be a number in [0, 1]" },
        { "dropout 1",                          "train --out {new-run} --dropout 1",                                  Failed,  "--dropout 1: must be a number in [0, 1)" },
        { "dropout NaN",                        "train --out {new-run} --dropout nan",                                Failed,  "--dropout nan: not a finite number" },
        { "unknown option",                     "train --out {new-run} --bem 3",                                      Failed,  "--bem" },
        // ---- train: files
        { "out is a file",                      "train --out {a-file}",                                               Failed,  "--out {a-file}: is a file; give a directory" },
        { "data missing",                       "train --out {new-run} --data {nowhere.tsv}",                         Failed,  "--data {nowhere.tsv}: no such file or directory" },
        { "data empty",                         "train --out {new-run} --data {empty.tsv}",                           Failed,  "{empty.tsv}: file is empty" },
        { "data line without a tab",            "train --out {new-run} --data {notab.tsv}",                           Failed,  "{notab.tsv}, line 3, column 2 (source): missing column" },
        { "data invalid UTF-8",                 "train --out {new-run} --data {badutf8.tsv}",                         Failed,  "{badutf8.tsv}, line 2: invalid UTF-8" },
        { "data unknown format",                "train --out {new-run} --data {corpus.csv}",                          Failed,  "--data {corpus.csv}: unknown corpus format" },
        { "data too small to split",            "train --out {new-run} --data {small.tsv} --preset tiny",             Failed,  "--data {small.tsv}: too small to split: 10 train, 0 dev, 0 test pairs" },
        { "data directory without test.tsv",    "train --out {new-run} --data {split-dir}",                           Failed,  "{split-dir}/test.tsv: missing" },
        { "training diverges",                  "train --out {diverged-run} --data {corpus.tsv} --preset tiny --vocab-size 100 --threads 1 --max-steps 5 --lr 1e9", Diverged, "training diverged: the loss became NaN" },
        // ---- demo, corpus export, export-model, heads, embed
        { "demo minutes negative",              "demo --out {new-run} --minutes -1",                                  Failed,  "--minutes -1: must be a number >= 0" },
        { "demo out is a file",                 "demo --out {a-file}",                                                Failed,  "--out {a-file}: is a file" },
        { "corpus export out is a file",        "corpus export --out {a-file}",                                       Failed,  "--out {a-file}: is a file" },
        { "corpus export data missing",         "corpus export --out {export} --data {nowhere.tsv}",                  Failed,  "--data {nowhere.tsv}: no such file or directory" },
        { "evaluate data missing",              "evaluate --model {run} --data {nowhere.tsv}",                        Failed,  "--data {nowhere.tsv}: no such file or directory" },
        { "Moses pair, line counts differ",     "train --out {new-run} --data {moses.fr} {moses.en}",                 Failed,  "{moses.fr}, line 3: line counts differ: 2 lines here, 3 in {moses.en}" },
        { "data: a directory among files",      "train --out {new-run} --data {split-dir} {corpus.tsv}",              Failed,  "--data {split-dir}: a corpus directory must be the only --data value" },
        { "export-model dtype unknown",         "export-model --model {run} --out {export} --dtype float8",           Failed,  "--dtype float8: use float32 or float16" },
        { "export-model test-bleu above 100",   "export-model --model {run} --out {export} --test-bleu 101",          Failed,  "--test-bleu 101: must be a number in [0, 100]" },
        { "export-model model missing",         "export-model --model {nowhere} --out {export}",                      Failed,  "--model {nowhere}: no such directory" },
        { "export-model out is a file",         "export-model --model {run} --out {a-file}",                          Failed,  "--out {a-file}: is a file" },
        { "export-model checkpoint unknown",    "export-model --model {run} --out {export} --checkpoint latest",      Failed,  "{run} has no latest/ checkpoint (it has: best, last)" },
        { "heads model missing",                "heads --model {nowhere} --text chat --out {export}",                 Failed,  "--model {nowhere}: no such directory; give a run or checkpoint directory, or minilm or builtin" },
        { "embed threads 0",                    "embed --threads 0 chat",                                             Failed,  "--threads 0: must be at least 1" },
        { "embed nothing to embed",             "embed",                                                              Failed,  "no sentences" },
        // ---- the command itself
        { "no command",                         "",                                                                   Failed,  "Required command was not provided" },
        { "unknown command",                    "translat --model {run}",                                             Failed,  "translat" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadInput_OneLineThatNamesIt_NoStackTrace(string kind, string commandLine, int exitCode, string expected)
    {
        var result = Cli.Run(files.Expand(commandLine));
        Assert.True(exitCode == result.ExitCode, $"{kind}: expected exit {exitCode}\n{result}");
        var want = files.ExpandText(expected);
        Assert.True(result.Err.Contains(want, StringComparison.Ordinal), $"{kind}: stderr should contain \"{want}\"\n{result}");
        Assert.DoesNotContain("   at ", result.Err);
        Assert.Contains("error: ", result.Err);
        // Nothing was created by a run refused before it started.
        if (exitCode == Failed) Assert.False(Directory.Exists(files.PathOf("new-run")), $"{kind}: {files.PathOf("new-run")} was created\n{result}");
    }

    [Fact]
    public void Table_CoversAtLeastSixtyKindsOfBadInput() => Assert.True(Cases.Count() >= 60, $"{Cases.Count()} kinds");
}
