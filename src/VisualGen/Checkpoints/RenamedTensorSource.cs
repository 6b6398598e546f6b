namespace VisualGen.Checkpoints;

/// <summary>
/// A view of some tensors of a memory-mapped safetensors file under other names (a monolithic LTX-2 file's tensors
/// under diffusers' names). Nothing is copied: every read goes to the file's mapping by the stored name. Disposing
/// the view closes the file.
/// </summary>
public sealed class RenamedTensorSource : ITensorSource
{
    readonly SafeTensorsFile _file;
    readonly IReadOnlyDictionary<string, string> _stored;   // name seen here → name stored in the file
    readonly string _what;

    /// <param name="file">The file; the view owns it.</param>
    /// <param name="stored">Each name this view shows → the name the file stores it under (every one must exist).</param>
    /// <param name="what">What the view is, for errors ("transformer").</param>
    public RenamedTensorSource(SafeTensorsFile file, IReadOnlyDictionary<string, string> stored, string what)
    {
        foreach (var (name, original) in stored)
            if (!file.Contains(original))
                throw new CheckpointException(file.Path, $"{what}: tensor '{original}' (read as '{name}') is not in the file");
        _file = file; _stored = stored; _what = what;
    }

    /// <summary>The file the tensors are read from.</summary>
    public string FilePath => _file.Path;

    /// <summary>The name a tensor is stored under in the file.</summary>
    public string StoredName(string name) => Stored(name);

    string Stored(string name) => _stored.TryGetValue(name, out var original) ? original
        : throw new CheckpointException(_file.Path, $"{_what}: no tensor named '{name}' (looked for it under the file's original key names)");

    public IEnumerable<string> Names => _stored.Keys;

    public bool Contains(string name) => _stored.ContainsKey(name);

    public TensorInfo Info(string name) => _file.Info(Stored(name)) with { Name = name };

    public ReadOnlySpan<byte> GetBytes(string name) => _file.GetBytes(Stored(name));

    public float[] ReadFloat32(string name) => _file.ReadFloat32(Stored(name));

    public bool TryLocate(string name, out TensorLocation location)
    {
        if (_stored.TryGetValue(name, out var original)) return _file.TryLocate(original, out location);
        location = default;
        return false;
    }

    public void Dispose() => _file.Dispose();
}
