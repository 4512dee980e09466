namespace Transformers.Data;

/// <summary>Length bucketing: items taken in a given order (sorted by length) and packed into batches under a padded-token budget.</summary>
public static class LengthBuckets
{
    /// <summary>
    /// Packs <paramref name="items"/> in <paramref name="order"/> into batches whose padded size (items × longest) stays
    /// within <paramref name="maxTokens"/> (an item longer than the budget gets a batch of its own), and, if
    /// <paramref name="maxItems"/> is positive, of at most that many items.
    /// </summary>
    public static List<List<T>> Pack<T>(IReadOnlyList<T> items, IEnumerable<int> order, Func<T, int> length, long maxTokens, int maxItems = 0)
    {
        var batches = new List<List<T>>();
        var current = new List<T>();
        int longest = 0;
        foreach (var i in order)
        {
            int n = length(items[i]), newLongest = Math.Max(longest, n);
            if (current.Count > 0 && ((long)(current.Count + 1) * newLongest > maxTokens || current.Count == maxItems))
            {
                batches.Add(current);
                current = [];
                newLongest = n;
            }
            current.Add(items[i]);
            longest = newLongest;
        }
        if (current.Count > 0) batches.Add(current);
        return batches;
    }

    /// <summary>A seeded shuffle, then a stable sort by length: batches of similar lengths whose members change from epoch to epoch.</summary>
    public static int[] ShuffledByLength<T>(IReadOnlyList<T> items, Func<T, int> length, Random? random)
    {
        var order = Enumerable.Range(0, items.Count).ToArray();
        random?.Shuffle(order);
        return order.OrderBy(i => length(items[i])).ToArray();
    }
}
