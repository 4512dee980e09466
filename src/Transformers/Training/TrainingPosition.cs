using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Transformers.Training;

/// <summary>
/// Where a training loop stands in its data and its budget: what every trainer's <c>trainer_state.json</c> holds
/// (<see cref="TrainerState"/>, <see cref="Bert.Pretraining.MlmTrainerState"/>,
/// <see cref="Bert.Classification.ClassifierTrainerState"/>), with the file's reading and writing.
/// </summary>
public abstract record TrainingPosition
{
    /// <summary>The file in a checkpoint directory.</summary>
    public const string FileName = "trainer_state.json";

    /// <summary>Optimizer steps taken.</summary>
    [JsonPropertyOrder(-1)] public long Step { get; set; }
    /// <summary>Current epoch (0-based) and the index of the next batch in it.</summary>
    [JsonPropertyOrder(-1)] public int Epoch { get; set; }
    [JsonPropertyOrder(-1)] public int BatchInEpoch { get; set; }
    /// <summary>Wall-clock seconds of training so far (across resumes).</summary>
    [JsonPropertyOrder(-1)] public double ElapsedSeconds { get; set; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes the state as <see cref="FileName"/> into (checkpoint) directory <paramref name="dir"/>.</summary>
    public void WriteTo(string dir) =>
        File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, GetType(), Json), new UTF8Encoding(false));

    /// <summary>
    /// The state saved in <paramref name="dir"/>, or null if it has none; <paramref name="upgrade"/> may rewrite the JSON
    /// of an older format first. A file that is not a state is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static T? ReadFrom<T>(string dir, Action<JsonObject>? upgrade = null) where T : TrainingPosition
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: empty");
            upgrade?.Invoke(json);
            return json.Deserialize<T>(Json) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a trainer state ({e.Message})", e);
        }
    }
}
