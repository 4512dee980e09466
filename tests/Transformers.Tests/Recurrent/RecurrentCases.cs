using Transformers.Recurrent;

namespace Transformers.Tests.Recurrent;

/// <summary>Theory data shared by the recurrent tests: every cell kind, alone or with the paths it runs on.</summary>
public static class RecurrentCases
{
    public static TheoryData<RecurrentCellKind> Kinds() => new(Enum.GetValues<RecurrentCellKind>());

    /// <summary>Every kind on each path that computes differently: fused (native), our loop, and the (untraced) gate level.</summary>
    public static TheoryData<RecurrentCellKind, RecurrentPath> KindsOnTheComputingPaths() =>
        KindsOn(RecurrentPath.Fused, RecurrentPath.Loop, RecurrentPath.GateLevel);

    /// <summary>Every kind on the two paths built for speed: fused (native) and our loop.</summary>
    public static TheoryData<RecurrentCellKind, RecurrentPath> KindsOnTheFastPaths() =>
        KindsOn(RecurrentPath.Fused, RecurrentPath.Loop);

    /// <summary>Every kind on every path, traced included.</summary>
    public static TheoryData<RecurrentCellKind, RecurrentPath> KindsOnEveryPath() =>
        KindsOn(Enum.GetValues<RecurrentPath>());

    private static TheoryData<RecurrentCellKind, RecurrentPath> KindsOn(params RecurrentPath[] paths)
    {
        var data = new TheoryData<RecurrentCellKind, RecurrentPath>();
        foreach (var kind in Enum.GetValues<RecurrentCellKind>())
            foreach (var path in paths)
                data.Add(kind, path);
        return data;
    }
}
