using System.Buffers.Binary;
using System.Text;

namespace Transformers.Tests.Data;

/// <summary>Writes tiny .mo files for tests, following the GNU gettext manual's layout, in either byte order.</summary>
internal static class MoWriter
{
    /// <summary>Original strings may hold "ctxt\u0004id" and "id\0plural"; translations "form0\0form1".</summary>
    public static byte[] Build(IReadOnlyList<(string Original, string Translation)> entries, bool bigEndian, Encoding? encoding = null)
    {
        encoding ??= new UTF8Encoding(false);
        var n = entries.Count;
        var originalsOffset = 28;
        var translationsOffset = originalsOffset + 8 * n;
        var stringsOffset = translationsOffset + 8 * n;
        var strings = new MemoryStream();
        var table = new List<(int Length, int Offset)>();
        foreach (var text in entries.Select(e => e.Original).Concat(entries.Select(e => e.Translation)))
        {
            var bytes = encoding.GetBytes(text);
            table.Add((bytes.Length, stringsOffset + (int)strings.Length));
            strings.Write(bytes);
            strings.WriteByte(0);
        }
        var file = new byte[stringsOffset + strings.Length];
        void Put(int at, uint value)
        {
            if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(at), value);
            else BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at), value);
        }
        Put(0, 0x950412de);
        Put(4, 0);
        Put(8, (uint)n);
        Put(12, (uint)originalsOffset);
        Put(16, (uint)translationsOffset);
        Put(20, 0);
        Put(24, (uint)stringsOffset);
        for (var i = 0; i < table.Count; i++)
        {
            Put(originalsOffset + 8 * i, (uint)table[i].Length);
            Put(originalsOffset + 8 * i + 4, (uint)table[i].Offset);
        }
        strings.ToArray().CopyTo(file, stringsOffset);
        return file;
    }
}
