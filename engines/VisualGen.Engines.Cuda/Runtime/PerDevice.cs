namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>One shared instance per device, counted by its users (the engines loaded there): the resident-tensor pool
/// (<see cref="TensorPool"/>) and the activation arena (<see cref="DeviceArena"/>).</summary>
internal sealed class PerDevice<T>(Func<int, T> create) where T : class
{
    readonly Dictionary<int, (T Value, int Users)> _shared = [];

    public T Acquire(int device)
    {
        lock (_shared)
        {
            var (value, users) = _shared.TryGetValue(device, out var e) ? e : (create(device), 0);
            _shared[device] = (value, users + 1);
            return value;
        }
    }

    /// <summary>One user of <paramref name="device"/>'s instance is done; true when it was the last (the caller frees it).</summary>
    public bool Release(int device)
    {
        lock (_shared)
        {
            var (value, users) = _shared[device];
            if (users > 1) { _shared[device] = (value, users - 1); return false; }
            _shared.Remove(device);
            return true;
        }
    }
}
