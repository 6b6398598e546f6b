using VisualGen.Engines.Cuda.Native;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// The activation arena of one device, shared by the engines loaded there. A pipeline runs its engines one after the
/// other (text encoder, transformer, VAE chunks), and each run ends with its stream synchronized, so their transient
/// values can share one allocation sized for the largest plan instead of each engine holding its own. A run holds the
/// arena from its first step to its last output copy (<see cref="Use"/>; other threads wait). When a larger plan
/// comes, the arena is reallocated and its <see cref="Generation"/> moves on: plans bound to the old one point their
/// values at the new one and capture their CUDA graph again (<see cref="ShapePlan.Bind"/>).
/// </summary>
internal sealed class DeviceArena
{
    static readonly PerDevice<DeviceArena> Shared = new(device => new DeviceArena(device));
    readonly int _device;
    readonly object _gate = new();
    DeviceMemory? _memory;

    DeviceArena(int device) => _device = device;

    public int Generation { get; private set; }

    /// <summary>The arena of <paramref name="device"/>; pair with <see cref="Release"/>.</summary>
    public static DeviceArena Acquire(int device) => Shared.Acquire(device);

    /// <summary>An engine is done with the arena. Its allocation is freed (the next run allocates what it needs): the
    /// released engine may have been the one that needed the most, and a GPU memory budget that unloads an engine
    /// expects its memory back. Each engine's <c>DeviceBytes</c> counts its own need, so their sum bounds the arena.</summary>
    public void Release()
    {
        Shared.Release(_device);
        lock (_gate)
        {
            _memory?.Dispose();
            _memory = null;
        }
    }

    /// <summary>Holds the arena (at least <paramref name="bytes"/> of it) until the lease is disposed: one run at a time
    /// per device. Reentrant on one thread.</summary>
    public Lease Use(long bytes)
    {
        Monitor.Enter(_gate);
        try
        {
            if (bytes > 0 && (_memory is null || _memory.Bytes < bytes))
            {
                // every run that used the old allocation has finished: runs synchronize their stream inside the lease
                _memory?.Dispose();
                _memory = null;
                _memory = DeviceMemory.Allocate((bytes + (2 << 20) - 1) / (2 << 20) * (2 << 20));
                Generation++;
            }
            return new Lease(this, _memory?.Ptr ?? IntPtr.Zero, Generation);
        }
        catch
        {
            Monitor.Exit(_gate);
            throw;
        }
    }

    public readonly struct Lease(DeviceArena arena, IntPtr ptr, int generation) : IDisposable
    {
        public IntPtr Ptr { get; } = ptr;
        public int Generation { get; } = generation;
        public void Dispose() => Monitor.Exit(arena._gate);
    }
}
