using System.Collections.Frozen;
using VisualGen.Checkpoints;

namespace VisualGen.Schedulers;

/// <summary>
/// How to build one scheduler class from its config. <see cref="ShiftKey"/> is the config key a user's shift
/// override (the CLI's --shift, <c>GenerationRequest.Shift</c>) replaces: "shift" for FlowMatchEuler,
/// "flow_shift" for UniPC, as diffusers' <c>from_config(config, flow_shift=...)</c> does.
/// </summary>
public sealed record SchedulerEntry(string ClassName, string ShiftKey, Func<ComponentConfig, IScheduler> Create);

/// <summary>Schedulers by diffusers' <c>_class_name</c>. <see cref="Default"/> holds the built-in ones and never changes.</summary>
public sealed class SchedulerRegistry
{
    readonly FrozenDictionary<string, SchedulerEntry> _entries;

    public SchedulerRegistry(IEnumerable<SchedulerEntry> entries) =>
        _entries = entries.ToFrozenDictionary(e => e.ClassName, StringComparer.Ordinal);

    public static SchedulerRegistry Default { get; } = new([
        new(FlowMatchEulerDiscreteScheduler.Name, "shift", c => new FlowMatchEulerDiscreteScheduler(c)),
        new(UniPCMultistepScheduler.Name, "flow_shift", c => new UniPCMultistepScheduler(c)),
    ]);

    public IEnumerable<string> ClassNames => _entries.Keys;

    public bool Contains(string className) => _entries.ContainsKey(className);

    /// <summary>Builds the scheduler the config names, with <paramref name="shift"/> replacing its shift key when given.</summary>
    public IScheduler Create(ComponentConfig config, double? shift = null)
    {
        if (!_entries.TryGetValue(config.GetString("_class_name"), out var entry))
            throw config.Unsupported("_class_name", $"supported schedulers: {string.Join(", ", _entries.Keys.Order())}");
        if (shift is { } s)
        {
            if (!(s > 0) || double.IsInfinity(s)) throw new SchedulerException($"shift is {s}, expected a positive number");
            config = config.With(entry.ShiftKey, s);
        }
        return entry.Create(config);
    }

    /// <summary>Reads scheduler_config.json (a file or the checkpoint's scheduler/ folder) and builds its scheduler.</summary>
    public IScheduler Load(string path, double? shift = null) =>
        Create(Directory.Exists(path) ? ComponentConfig.Load(path) : ComponentConfig.FromFile(path), shift);
}
