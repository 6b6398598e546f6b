using VisualGen.Checkpoints;
using VisualGen.Exporter.Commands;
using VisualGen.Quantization;

namespace VisualGen.Cli;

/// <summary>
/// <c>quantize --model DIR ...</c> writes a quantized checkpoint (<see cref="QuantizeModelCommand"/>);
/// <c>quantize --tensors FILE --scheme NAME --output FILE</c>: quantizes every tensor of a safetensors file with one
/// scheme and writes each part as <c>{tensor}.{scheme}.{part}</c> (the names of the quantization fixtures), atomically.
/// An unknown scheme is a usage error listing the schemes; a tensor the scheme cannot take is a one-line error naming it.
/// Ctrl+C cancels either form between tensors, leaving nothing behind.
/// </summary>
public static class QuantizeCommand
{
    public static readonly string[] Flags = ["tensors", "model", "scheme", "output", "ignore"];

    public static int Run(string[] args, TextWriter output, TextWriter log, QuantizationSchemeRegistry schemes)
    {
        // Ctrl+C stops between tensors and copied files; what was written so far is deleted (exit 130)
        return ConsoleCancellation.Run(log, cancellation => Run(args, output, log, schemes, cancellation));
    }

    public static int Run(string[] args, TextWriter output, TextWriter log, QuantizationSchemeRegistry schemes, CancellationToken cancellation)
    {
        var cl = new CommandLine(args, Flags);
        if (cl.Has("model")) return QuantizeModelCommand.Run(cl, output, log, cancellation);
        if (cl.Has("ignore")) throw new UsageException("--ignore goes with --model");
        string input = cl.Required("tensors");
        string name = cl.Required("scheme");
        string target = cl.Required("output");
        // ModelOpt's quant_algo names ("NVFP4") as --model and --quant-algo take them, or the schemes' own names
        if (!schemes.TryGet(QuantAlgo.All.FirstOrDefault(a => a.Name == name)?.Scheme ?? name, out var scheme))
            throw new UsageException($"unknown --scheme '{name}' (schemes: {string.Join(", ", schemes.Names)}; or quant_algo {string.Join(", ", QuantAlgo.All.Select(a => a.Name))})");
        cl.RequireOutputBesideInput("output", "tensors");
        VisualGen.Media.WritableLocation.RequireFile("--output", target);
        if (Directory.Exists(input)) throw new IOException($"--tensors {input}: is a folder; name a safetensors file");  // not "file not found"

        // one tensor in memory at a time: each is quantized and streamed to the output as it is read
        var lines = new List<string>();
        int written = 0;
        using (var file = SafeTensorsFile.Open(input))
        using (var writer = new SafeTensorsStreamWriter(target))
        {
            if (!file.Names.Any()) throw new CheckpointException(input, "holds no tensors to quantize");
            foreach (string tensor in file.Names)
            {
                cancellation.ThrowIfCancellationRequested();
                var q = scheme.Quantize(SourceTensor.Read(file, tensor));
                foreach (var t in q.Tensors) writer.Add(t);
                written += q.Tensors.Count();
                lines.Add($"{q.Source}: {string.Join(", ", q.Tensors.Select(t => t.Name))}");
            }
            writer.Commit();
        }
        foreach (var line in lines) output.WriteLine(line);
        output.WriteLine($"wrote {written} tensors ({scheme.Name}) to {target}");
        return ExitCode.Success;
    }
}
