using Transformers.Training;

namespace Transformers.Tests.Translation;

public class TrainerStateFileTests
{
    [Fact]
    public void AStateWrittenBeforeBestScore_HadItsNameBestDevBleu_AndReadsAsBestScore()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"state-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "trainer_state.json"), """{ "Step": 40, "BestDevBleu": 12.5, "BestStep": 30, "History": [] }""");
            var legacy = Checkpoint.ReadState(dir)!;
            Assert.Equal((40L, 12.5, 30L), (legacy.Step, legacy.BestScore, legacy.BestStep));

            File.WriteAllText(Path.Combine(dir, "trainer_state.json"), """{ "Step": 40, "BestScore": "-Infinity", "History": [] }""");
            Assert.Equal(double.NegativeInfinity, Checkpoint.ReadState(dir)!.BestScore);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
