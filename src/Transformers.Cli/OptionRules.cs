using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using Transformers.Data;
using Transformers.Training;

namespace Transformers.Cli;

/// <summary>
/// Checks on option values that run while the command line is parsed, before a command does any work: numbers within
/// a range (NaN and infinity refused), names from a fixed list, paths of the right kind. Each error is one line that
/// names the option as it was typed, the value, and what is allowed: <c>--beam 0: must be in 1..100</c>.
/// </summary>
internal static class OptionRules
{
    /// <summary>An integer option that must lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<T> Within<T>(this Option<T> option, T min, T max) where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        option.CustomParser = r => ParseNumber(r, min, max, Rule(min, max)) ?? default;
        return option;
    }

    /// <inheritdoc cref="Within{T}(Option{T}, T, T)"/>
    public static Option<T?> Within<T>(this Option<T?> option, T min, T max) where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        option.CustomParser = r => ParseNumber(r, min, max, Rule(min, max));
        return option;
    }

    /// <summary>An integer option that must be at least <paramref name="min"/>.</summary>
    public static Option<T> AtLeast<T>(this Option<T> option, T min) where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        option.CustomParser = r => ParseNumber(r, min, T.MaxValue, $"must be at least {min}") ?? default;
        return option;
    }

    /// <inheritdoc cref="AtLeast{T}(Option{T}, T)"/>
    public static Option<T?> AtLeast<T>(this Option<T?> option, T min) where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        option.CustomParser = r => ParseNumber(r, min, T.MaxValue, $"must be at least {min}");
        return option;
    }

    /// <summary>Every value of a multi-valued integer option must be at least <paramref name="min"/>.</summary>
    public static Option<long[]> EachAtLeast(this Option<long[]> option, long min)
    {
        option.CustomParser = r => r.Tokens.Select(t => ParseNumber(r, t.Value, min, long.MaxValue, $"must be at least {min}") ?? 0).ToArray();
        return option;
    }

    /// <summary>
    /// A real-valued option that must be a finite number in the interval <paramref name="min"/>..<paramref name="max"/>;
    /// <paramref name="minOpen"/>/<paramref name="maxOpen"/> exclude the bound (0 excluded: "must be > 0").
    /// </summary>
    public static Option<double> Within(this Option<double> option, double min, double max, bool minOpen = false, bool maxOpen = false)
    {
        option.CustomParser = r => ParseReal(r, min, max, minOpen, maxOpen) ?? 0;
        return option;
    }

    /// <inheritdoc cref="Within(Option{double}, double, double, bool, bool)"/>
    public static Option<double?> Within(this Option<double?> option, double min, double max, bool minOpen = false, bool maxOpen = false)
    {
        option.CustomParser = r => ParseReal(r, min, max, minOpen, maxOpen);
        return option;
    }

    /// <summary>
    /// An enum option that takes the member names only, in any case and also in kebab case ("transformer", "Transformer";
    /// "luong-general", "LuongGeneral"), not numbers (which the default parser would take, for members that do not exist);
    /// the error lists the names.
    /// </summary>
    public static Option<T> OneOf<T>(this Option<T> option) where T : struct, Enum
    {
        option.HelpName ??= string.Join("|", Enum.GetValues<T>().Select(v => EnumName(v)));
        option.CustomParser = r => ParseEnum<T>(r) ?? default;
        return option;
    }

    /// <inheritdoc cref="OneOf{T}(Option{T})"/>
    public static Option<T?> OneOf<T>(this Option<T?> option) where T : struct, Enum
    {
        option.HelpName ??= string.Join("|", Enum.GetValues<T>().Select(v => EnumName(v)));
        option.CustomParser = r => ParseEnum<T>(r);
        return option;
    }

    /// <summary>An enum option that takes only the members in <paramref name="allowed"/> (as <see cref="OneOf{T}(Option{T})"/> reads them).</summary>
    public static Option<T> OneOf<T>(this Option<T> option, IReadOnlyList<T> allowed) where T : struct, Enum
    {
        option.HelpName ??= string.Join("|", allowed.Select(v => EnumName(v)));
        option.CustomParser = r => ParseEnum(r, allowed) ?? default;
        return option;
    }

    /// <summary>An enum member as the command line writes it: LuongGeneral -> luong-general.</summary>
    public static string EnumName<T>(T value) where T : struct, Enum => RunSettings.OptionName(value);

    private static T? ParseEnum<T>(ArgumentResult r, IReadOnlyList<T>? allowed = null) where T : struct, Enum
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        var values = allowed ?? Enum.GetValues<T>();
        foreach (var value in values)
            if (string.Equals(EnumName(value), text, StringComparison.OrdinalIgnoreCase) || string.Equals(value.ToString(), text, StringComparison.OrdinalIgnoreCase))
                return value;
        r.AddError($"{Typed(r)} {text}: use {Names(values.Select(v => EnumName(v)))}");
        return null;
    }

    /// <summary>A string option that takes one of <paramref name="allowed"/> (exactly as written there).</summary>
    public static Option<T> OneOf<T>(this Option<T> option, params string[] allowed) where T : class?
    {
        option.HelpName ??= string.Join("|", allowed);
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (!allowed.Contains(token.Value, StringComparer.Ordinal))
                    r.AddError($"{Typed(r)} {token.Value}: use {Names(allowed)}");
        });
        return option;
    }

    /// <summary>A libtorch device: cpu, cuda or cuda:N (whether CUDA is there is checked when the device is opened).</summary>
    public static Option<string> Device(this Option<string> option)
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (token.Value is not ("cpu" or "cuda") && !(token.Value.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(token.Value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                    r.AddError($"{Typed(r)} {token.Value}: use cpu, cuda or cuda:N");
        });
        return option;
    }

    /// <summary>
    /// A model to load: one of <paramref name="names"/> (builtin, say; any case) or an existing run or checkpoint
    /// directory (what is in it is checked when it is loaded, with errors that name the file).
    /// </summary>
    public static Option<string> ExistingModel(this Option<string> option, params string[] names)
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                if (names.Contains(token.Value, StringComparer.OrdinalIgnoreCase) || Directory.Exists(token.Value)) continue;
                var instead = names.Length == 0 ? "" : $", or {Names(names)}";
                r.AddError(File.Exists(token.Value)
                    ? $"{Typed(r)} {token.Value}: is a file; give a run or checkpoint directory{instead}"
                    : $"{Typed(r)} {token.Value}: no such directory; give a run or checkpoint directory{instead}");
            }
        });
        return option;
    }

    /// <summary>As <see cref="ExistingModel"/>, for an option given several times.</summary>
    public static Option<string[]> ExistingModels(this Option<string[]> option, params string[] names)
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (!names.Contains(token.Value, StringComparer.OrdinalIgnoreCase) && !Directory.Exists(token.Value))
                    r.AddError($"{Typed(r)} {token.Value}: no such directory; give a run or checkpoint directory{(names.Length == 0 ? "" : $", or {Names(names)}")}");
        });
        return option;
    }

    /// <summary>Corpus options (<c>--data</c>): every value is <c>bundled</c>, an existing directory or an existing file.</summary>
    public static Option<string[]> ExistingCorpus(this Option<string[]> option)
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (token.Value != BundledCorpus.Name && !File.Exists(token.Value) && !Directory.Exists(token.Value))
                    r.AddError($"{Typed(r)} {token.Value}: no such file or directory (use bundled, a directory from `corpus export`, or corpus files)");
        });
        return option;
    }

    /// <summary>Every value must name an existing file (not a directory).</summary>
    public static Option<T> ExistingFiles<T>(this Option<T> option) where T : class?
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                if (Directory.Exists(token.Value)) r.AddError($"{Typed(r)} {token.Value}: is a directory; give a file");
                else if (!File.Exists(token.Value)) r.AddError($"{Typed(r)} {token.Value}: file not found");
            }
        });
        return option;
    }

    /// <summary>Every value must name an existing file or directory.</summary>
    public static Option<string> ExistingPath(this Option<string> option)
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (!File.Exists(token.Value) && !Directory.Exists(token.Value)) r.AddError($"{Typed(r)} {token.Value}: no such file or directory");
        });
        return option;
    }

    /// <summary>An output directory (created if missing): must not be an existing file.</summary>
    public static Option<string> OutputDirectory(this Option<string> option)
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (File.Exists(token.Value)) r.AddError($"{Typed(r)} {token.Value}: is a file; give a directory (created if missing)");
        });
        return option;
    }

    /// <summary>An output file (replaced if present): must not be an existing directory.</summary>
    public static Option<string> OutputFile(this Option<string> option)
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (Directory.Exists(token.Value)) r.AddError($"{Typed(r)} {token.Value}: is a directory; give a file path");
        });
        return option;
    }

    /// <summary>The option as the user typed it (an alias, say), else its name.</summary>
    private static string Typed(SymbolResult r) => r switch
    {
        OptionResult o => o.IdentifierToken?.Value ?? o.Option.Name,
        ArgumentResult { Parent: OptionResult o } => o.IdentifierToken?.Value ?? o.Option.Name,
        ArgumentResult a => a.Argument.Name,
        _ => "value",
    };

    private static string Rule<T>(T min, T max) where T : IMinMaxValue<T>, IBinaryInteger<T> =>
        max == T.MaxValue ? $"must be at least {min}" : $"must be in {min}..{max}";

    private static T? ParseNumber<T>(ArgumentResult r, T min, T max, string rule) where T : struct, IBinaryInteger<T> =>
        r.Tokens.Count == 0 ? null : ParseNumber(r, r.Tokens[^1].Value, min, max, rule);

    private static T? ParseNumber<T>(ArgumentResult r, string text, T min, T max, string rule) where T : struct, IBinaryInteger<T>
    {
        if (!T.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            r.AddError($"{Typed(r)} {text}: not an integer; {rule}");
            return null;
        }
        if (value < min || value > max)
        {
            r.AddError($"{Typed(r)} {text}: {rule}");
            return null;
        }
        return value;
    }

    private static double? ParseReal(ArgumentResult r, double min, double max, bool minOpen, bool maxOpen)
    {
        if (r.Tokens.Count == 0) return null;
        var text = r.Tokens[^1].Value;
        string rule = RealRule(min, max, minOpen, maxOpen);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            r.AddError($"{Typed(r)} {text}: not a finite number; {rule}");
            return null;
        }
        bool above = minOpen ? value > min : value >= min, below = maxOpen ? value < max : value <= max;
        if (!above || !below)
        {
            r.AddError($"{Typed(r)} {text}: {rule}");
            return null;
        }
        return value;
    }

    private static string RealRule(double min, double max, bool minOpen, bool maxOpen)
    {
        static string F(double x) => x.ToString("G", CultureInfo.InvariantCulture);
        if (double.IsPositiveInfinity(max)) return $"must be a number {(minOpen ? ">" : ">=")} {F(min)}";
        return $"must be a number in {(minOpen ? "(" : "[")}{F(min)}, {F(max)}{(maxOpen ? ")" : "]")}";
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 1 ? list[0] : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }
}
