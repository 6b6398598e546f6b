using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Exporter.Commands;

/// <summary><c>run-component --model DIR --component NAME --inputs FILE [--prefix P] --output FILE [--engine E]
/// [--cache DIR] [--quant-algo A] [--quant-ignore P,Q]</c>: builds (or loads from the engine cache) one component and
/// runs it on the tensors of a safetensors file whose names start with the prefix (the rest of each name is the
/// component's input name). Writes the output as <c>out</c> when the component has one, else each under its own name:
/// what a user needs to check a quantized checkpoint against a reference.</summary>
public static class RunComponentCommand
{
    public static readonly string[] Flags = ["model", "component", "inputs", "prefix", "output", .. RunConfiguration.Flags];

    /// <summary>Runs the command with Ctrl+C as a cancellation (<see cref="ConsoleCancellation"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter log) =>
        ConsoleCancellation.Run(log, cancellation => Run(args, output, log, cancellation));

    /// <summary>Cancelled, it stops while the component is built (leaving nothing in the cache), before it runs, or
    /// before the output is written (exit 130, no output file).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter log, CancellationToken cancellation)
    {
        var cl = new CommandLine(args, Flags);
        string model = Path.GetFullPath(cl.Required("model"));
        string component = cl.Required("component");
        string inputsPath = cl.Required("inputs");
        string prefix = cl.String("prefix") ?? "";
        string target = cl.Required("output");
        cl.RequireOutputBesideInput("output", "inputs");
        VisualGen.Media.WritableLocation.RequireFile("--output", target);  // before the component is built and run
        var settings = RunConfiguration.FromFlags(cl);
        EngineCacheLocation.Require(Runtime.CacheDirectory(settings.EngineCache), log);  // before the component is traced
        using var provider = RunConfiguration.CreateEngineProvider(settings, new LineProgress(line => log.WriteLine("  " + line)));
        var all = provider.ComponentsOf(model);
        provider.CheckReady(model);
        if (!all.Contains(component))
            throw new UsageException($"--component: '{component}' is not a component of {model} (exportable: {string.Join(", ", all)})");

        var inputs = ReadInputs(inputsPath, prefix);
        var (engine, _) = provider.Prepare(model, component, null, cancellation);
        var expected = engine.Manifest.Inputs.Select(i => i.Name).ToList();
        var missing = expected.Where(n => !inputs.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            // the prefix is literal: "transformer.in" without its dot reads "transformer.in.hidden_states" as ".hidden_states"
            string hint = prefix.Length > 0 && !prefix.EndsWith('.') && missing.All(n => inputs.ContainsKey("." + n)) ? $"; did you mean --prefix {prefix}.?" : "";
            throw new UsageException($"--inputs {inputsPath} lacks {string.Join(", ", missing.Select(n => $"'{prefix}{n}'"))} ({component} takes {string.Join(", ", expected)}){hint}");
        }
        var extra = inputs.Keys.Where(n => !expected.Contains(n)).Order(StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new UsageException($"--inputs {inputsPath}: {string.Join(", ", extra.Select(n => $"'{prefix}{n}'"))} name no input of {component} (it takes {string.Join(", ", expected)})");

        // a size named in several inputs ('batch') is one size: the first input that has it sets it
        var named = new Dictionary<string, (long Size, string Input)>(StringComparer.Ordinal);
        foreach (var spec in engine.Manifest.Inputs)
        {
            // integers where the graph takes floats (a timestep saved as int64): the same values as float32
            if (!TakesIntegers(spec) && inputs[spec.Name] is { DType: TensorDType.I64 } ints)
                inputs[spec.Name] = HostTensor.Float32(ints.Longs.Select(v => (float)v).ToArray(), ints.Shape);
            if (Mismatch(spec, inputs[spec.Name], named, prefix) is { } why)
                throw new UsageException($"--inputs {inputsPath}: '{prefix}{spec.Name}' {why}");
        }

        cancellation.ThrowIfCancellationRequested();
        var outputs = engine.Run(inputs);
        cancellation.ThrowIfCancellationRequested();
        var written = outputs.Count == 1
            ? [outputs.Single().Value.ToTensorData("out")]
            : outputs.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value.ToTensorData(o.Key)).ToList();
        SafeTensorsWriter.Write(target, written);
        foreach (var t in written) output.WriteLine($"{t.Name} [{string.Join(", ", t.Shape)}]");
        output.WriteLine($"wrote {written.Count} tensor(s) of {component} to {target}");
        return 0;
    }

    /// <summary>What keeps a tensor from being the graph input <paramref name="spec"/> describes (its element kind, rank,
    /// fixed sizes, empty dimensions, and named sizes as <paramref name="named"/> holds them from earlier inputs; it adds this input's), or
    /// null. The file's floats of any width are read as float32 and its integers as int64, as the engines take them;
    /// floats where the graph takes integers are refused (no rounding is guessed).</summary>
    static string? Mismatch(EngineTensorSpec spec, HostTensor t, Dictionary<string, (long Size, string Input)> named, string prefix)
    {
        bool wantsInt = TakesIntegers(spec);
        string expected = $"{spec.DType} [{string.Join(", ", spec.Shape)}]";
        if (wantsInt != (t.DType == TensorDType.I64))
            return $"holds {(t.DType == TensorDType.I64 ? "integers" : "floating-point values")}; the component takes {expected}";
        if (t.Rank != spec.Shape.Length)
            return $"has shape [{string.Join(", ", t.Shape)}]; the component takes {expected}";
        // an empty dimension reached ONNX Runtime, whose internal message did not say which input was wrong
        for (int i = 0; i < t.Rank; i++)
            if (t.Shape[i] == 0)
                return $"has shape [{string.Join(", ", t.Shape)}]; the component takes {expected} " +
                       $"(dimension {i}{(long.TryParse(spec.Shape[i], out _) ? "" : $", '{spec.Shape[i]}',")} is 0; every size must be at least 1)";
        for (int i = 0; i < t.Rank; i++)
            if (long.TryParse(spec.Shape[i], out long size) && size != t.Shape[i])
                return $"has shape [{string.Join(", ", t.Shape)}]; the component takes {expected} (dimension {i} must be {size})";
        for (int i = 0; i < t.Rank; i++)
        {
            if (long.TryParse(spec.Shape[i], out _)) continue;
            if (named.TryGetValue(spec.Shape[i], out var set) && set.Size != t.Shape[i])
                return $"has shape [{string.Join(", ", t.Shape)}]; the component takes {expected}, and '{spec.Shape[i]}' is {set.Size} " +
                       $"in '{prefix}{set.Input}' (dimension {i} must be {set.Size})";
            named.TryAdd(spec.Shape[i], (t.Shape[i], spec.Name));
        }
        return null;
    }

    static bool TakesIntegers(EngineTensorSpec spec) => spec.DType is "int64" or "int32";

    static Dictionary<string, HostTensor> ReadInputs(string path, string prefix)
    {
        using var file = SafeTensorsFile.Open(path);
        var inputs = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (string name in file.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
            inputs[name[prefix.Length..]] = HostTensor.FromSource(file, name);
        if (inputs.Count == 0)
            throw new UsageException($"--inputs {path} holds no tensor whose name starts with '{prefix}' (it holds {string.Join(", ", file.Names.Take(8))})");
        return inputs;
    }
}
