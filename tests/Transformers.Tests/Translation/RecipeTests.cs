using Transformers.Translation;

namespace Transformers.Tests.Translation;

/// <summary>The recipes' data options (their schedules are checked in <see cref="LearningRateScheduleTests"/>).</summary>
public sealed class TranslationRecipeTests
{
    /// <summary>Tokens per optimizer step: 1,000 for the Transformer, the small GRU and the small LSTM (the sweep's best), 4,000 for the other recurrent recipes.</summary>
    [Theory]
    [InlineData(TranslatorArchitecture.Transformer, ModelPreset.Small, 1000)]
    [InlineData(TranslatorArchitecture.Transformer, ModelPreset.Base, 1000)]
    [InlineData(TranslatorArchitecture.Gru, ModelPreset.Small, 1000)]
    [InlineData(TranslatorArchitecture.Gru, ModelPreset.Matched, 4000)]
    [InlineData(TranslatorArchitecture.Gru, ModelPreset.Base, 4000)]
    [InlineData(TranslatorArchitecture.Lstm, ModelPreset.Small, 1000)]
    [InlineData(TranslatorArchitecture.Lstm, ModelPreset.Matched, 4000)]
    [InlineData(TranslatorArchitecture.Rnn, ModelPreset.Small, 4000)]
    public void TheTransformerAndTheSmallGruAndLstmStep1000Tokens_TheOtherRecurrentRecipes4000(TranslatorArchitecture architecture, ModelPreset preset, int tokens) =>
        Assert.Equal(tokens, TranslationRecipe.For(architecture, preset).Data.MaxTokensPerBatch);
}
