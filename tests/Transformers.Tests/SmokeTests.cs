namespace Transformers.Tests; public class SmokeTests { [Fact] public void TorchLoads() => Assert.Equal(6f, TorchSharp.torch.ones(2,3).sum().item<float>()); }
