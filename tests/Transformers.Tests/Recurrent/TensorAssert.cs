using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Tests.Recurrent;

/// <summary>Element-wise comparisons with a message that says where and by how much two tensors differ.</summary>
internal static class TensorAssert
{
    public static void Close(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        using var scope = torch.NewDisposeScope();
        var difference = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs();
        var worst = difference.numel() == 0 ? 0.0 : difference.max().item<double>();
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G3} > {tolerance:G3}");
    }

    public static void CloseToValues(double[] expected, Tensor actual, double tolerance, string what)
    {
        using var scope = torch.NewDisposeScope();
        Close(torch.tensor(expected).reshape(actual.shape), actual, tolerance, what);
    }

    public static void Identical(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        using var scope = torch.NewDisposeScope();
        Assert.True(expected.eq(actual).all().item<bool>(), $"{what}: not bit-identical");
    }

    public static void AllZero(Tensor actual, string what)
    {
        using var scope = torch.NewDisposeScope();
        Assert.True(actual.eq(0).all().item<bool>(), $"{what}: expected exactly zero");
    }
}
