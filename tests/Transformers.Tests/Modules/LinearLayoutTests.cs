using Transformers.Bert;
using Transformers.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Transformers.Tests.Modules;

public class LinearLayoutTests
{
    [Fact]
    public void InputMajorStorage_KeepsShapesNamesValuesAndOutputs()
    {
        manual_seed(3);
        using var model = new BertModel(BertConfig.Tiny);
        model.eval();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var ids = tensor(new long[,] { { 2, 5, 7, 9 }, { 2, 11, 13, 3 } });
        Tensor expected;
        using (no_grad()) expected = model.Forward(ids).LastHiddenState.clone();

        int relaid = LinearLayout.UseInputMajorStorage(model);

        // Tiny: 2 layers × (Q, K, V, output, w1, w2) + the pooler.
        Assert.Equal(2 * 6 + 1, relaid);
        var after = model.state_dict();
        Assert.Equal(before.Keys.OrderBy(k => k), after.Keys.OrderBy(k => k));
        foreach (var (name, value) in before)
        {
            Assert.Equal(value.shape, after[name].shape);
            Assert.True(value.equal(after[name]).all().item<bool>(), name);
        }
        var query = model.named_parameters().Single(p => p.name == "encoder.layer.0.self_attn.query.weight").parameter;
        Assert.True(LinearLayout.IsInputMajor(query));
        Assert.False(query.is_contiguous());
        Assert.True(query.requires_grad);
        using (no_grad()) Assert.True(model.Forward(ids).LastHiddenState.allclose(expected, rtol: 0, atol: 1e-6));
        Assert.Equal(0, LinearLayout.UseInputMajorStorage(model));                      // already laid out: nothing to do
    }

    [Fact]
    public void InputMajorStorage_GivesTheUsualGradients()
    {
        manual_seed(3);
        using var usual = nn.Linear(4, 3);
        using var relaid = nn.Linear(4, 3);
        using (no_grad()) { relaid.weight!.copy_(usual.weight!); relaid.bias!.copy_(usual.bias!); }
        LinearLayout.UseInputMajorStorage(relaid);
        var x = randn(5, 4);
        var target = randn(5, 3);
        (usual.forward(x) - target).pow(2).sum().backward();
        (relaid.forward(x) - target).pow(2).sum().backward();
        float weightDiff = (usual.weight!.grad! - relaid.weight!.grad!).abs().max().item<float>();
        float biasDiff = (usual.bias!.grad! - relaid.bias!.grad!).abs().max().item<float>();
        Assert.True(weightDiff < 1e-5f && biasDiff < 1e-5f, $"gradient differences: weight {weightDiff}, bias {biasDiff}");
    }
}
