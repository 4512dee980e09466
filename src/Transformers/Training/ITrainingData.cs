using Transformers.Data;

namespace Transformers.Training;

/// <summary>What the trainer trains on: each epoch's batches (a deterministic function of the epoch, so a resumed run sees the same order) and the dev batches.</summary>
public interface ITrainingData
{
    IReadOnlyList<TranslationBatch> Epoch(int epoch);
    IReadOnlyList<TranslationBatch> Dev { get; }
}
