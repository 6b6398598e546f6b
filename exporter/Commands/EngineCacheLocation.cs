using VisualGen.Media;

namespace VisualGen.Exporter.Commands;

/// <summary>
/// The engine cache folder, checked before anything is traced or built: it must be a folder that exists or can be
/// created. One that exists but cannot be written is a read-only deployment: its entries load, a missing one cannot
/// be built, and a note says so.
/// </summary>
public static class EngineCacheLocation
{
    public static void Require(string root, TextWriter log) => Require(root, note => log.WriteLine($"note: {note}"));

    /// <summary>The same check, with the read-only note handed to <paramref name="note"/> (the server's log).</summary>
    public static void Require(string root, Action<string> note)
    {
        RequireNotFile(root);
        if (WritableLocation.Problem(root) is not { } problem) return;
        if (!Directory.Exists(root)) throw new MediaException($"engine cache {root}: cannot create it: {problem}");
        note($"engine cache {root} is read-only ({problem}): cached engines load, a missing one cannot be built");
    }

    /// <summary>Refuses a cache path that names a file (commands that only read the cache: a missing folder is empty).</summary>
    public static void RequireNotFile(string root)
    {
        if (File.Exists(root)) throw new MediaException($"engine cache {root}: is a file, not a folder (--engine-cache names a folder)");
    }
}
