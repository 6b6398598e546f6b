using System.Diagnostics;
using System.Text.Json;
using VisualGen.Bench.ExportMemory;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;

// Measures the exporter's memory on a full-size Wan 2.1 1.3B transformer with random bf16 weights:
//   dotnet run -c Release --project tools/bench/ExportMemory -- <work folder> [--keep]
// writes <work>/transformer/{config.json, diffusion_pytorch_model.safetensors} and <work>/onnx/model.onnx(.data),
// then prints a markdown table. Without --keep the files are deleted at the end.

if (args.Length < 1 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: ExportMemory <work folder> [--keep]");
    return 2;
}
string work = Path.GetFullPath(args[0]);
bool keep = args.Contains("--keep");
string ckptDir = Path.Combine(work, "transformer"), onnxDir = Path.Combine(work, "onnx");
Directory.CreateDirectory(ckptDir);
Directory.CreateDirectory(onnxDir);

static string Gb(long bytes) => $"{bytes / 1e9:F2} GB";
static string Mb(long bytes) => $"{bytes / 1e6:F0} MB";

var layout = WanCheckpointLayout.Wan13B;
var tensors = layout.Tensors().ToList();
long parameters = tensors.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
Console.WriteLine($"Wan 1.3B layout: {tensors.Count} tensors, {parameters / 1e9:F3} G parameters");

var sw = Stopwatch.StartNew();
File.WriteAllText(Path.Combine(ckptDir, "config.json"), JsonSerializer.Serialize(layout.Config()));
string ckptPath = Path.Combine(ckptDir, "diffusion_pytorch_model.safetensors");
long ckptBytes = StreamingCheckpointWriter.Write(ckptPath, tensors, seed: 20261125);
double genSeconds = sw.Elapsed.TotalSeconds;
var afterGenerate = MemorySample.Read();
Console.WriteLine($"checkpoint: {Gb(ckptBytes)} in {genSeconds:F1} s; VmHWM {Mb(afterGenerate.VmHwm)}");

// The export maps the checkpoint and reads every page once (the pages may still be in the page cache from the
// write above; mapped pages count toward RSS once touched either way).
IReadOnlyList<string> files;
MemorySample afterExport;
long peakAnon, peakFile;
double traceSeconds, writeSeconds;
using (var sampler = new MemoryPeakSampler())
{
    sw.Restart();
    using (var weights = ComponentWeights.Open(ckptDir))
    {
        var graph = WanTransformer3D.Trace(ckptDir, weights);
        traceSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        files = new OnnxWriter().Write(graph, Path.Combine(onnxDir, "model.onnx"));
        writeSeconds = sw.Elapsed.TotalSeconds;
    }
    afterExport = MemorySample.Read();
    peakAnon = sampler.PeakAnon;
    peakFile = sampler.PeakFile;
}
long onnxBytes = files.Sum(f => new FileInfo(f).Length);

Console.WriteLine();
Console.WriteLine("| measure | value |");
Console.WriteLine("| --- | ---: |");
Console.WriteLine($"| parameters | {parameters / 1e9:F3} G ({tensors.Count} tensors) |");
Console.WriteLine($"| checkpoint (bf16 safetensors) | {Gb(ckptBytes)} |");
Console.WriteLine($"| ONNX (fp32: model.onnx + model.onnx.data) | {Gb(onnxBytes)} ({string.Join(" + ", files.Select(f => Mb(new FileInfo(f).Length)))}) |");
Console.WriteLine($"| generate checkpoint | {genSeconds:F1} s |");
Console.WriteLine($"| export: trace | {traceSeconds:F1} s |");
Console.WriteLine($"| export: write ONNX | {writeSeconds:F1} s |");
Console.WriteLine($"| VmHWM after generating (before export) | {Mb(afterGenerate.VmHwm)} |");
Console.WriteLine($"| VmHWM after export (peak RSS of the process) | {Mb(afterExport.VmHwm)} |");
Console.WriteLine($"| peak RssAnon during export (sampled every 20 ms) | {Mb(peakAnon)} |");
Console.WriteLine($"| peak RssFile during export (sampled every 20 ms) | {Mb(peakFile)} |");
Console.WriteLine($"| RSS after export (weights closed): anon / file | {Mb(afterExport.RssAnon)} / {Mb(afterExport.RssFile)} |");
Console.WriteLine($"| managed heap after export / total allocated | {Mb(GC.GetTotalMemory(false))} / {Gb(GC.GetTotalAllocatedBytes())} |");

if (!keep)
{
    Directory.Delete(work, recursive: true);
    Console.WriteLine($"\ndeleted {work}");
}
return 0;
