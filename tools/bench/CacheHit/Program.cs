using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VisualGen.Bench.ExportMemory;
using VisualGen.Engines;
using VisualGen.Engines.OnnxRuntime;
using VisualGen.Exporter.Export;

// Times what an engine cache hit costs before the backend loads the engine (key computation + entry verification):
//   dotnet run -c Release --project tools/bench/CacheHit -- <work folder> [--layers N] [--hits K]
// writes a random bf16 Wan 2.1 1.3B-shaped transformer (N of its 30 blocks; default 30) as a diffusers folder under
// <work>/model (write times set an hour back, as a downloaded checkpoint's are), builds it with ONNX Runtime CPU into
// <work>/cache in a child process, then runs K (default 3) child processes that each Prepare the transformer again
// and print Prepare's time, the backend's Load time (ORT session creation) and the difference. Deletes <work> at the end.
// A child: CacheHit --prepare <work>.

if (args is ["--prepare", var dir]) return PrepareOnce(dir);
if (args.Length < 1 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: CacheHit <work folder> [--layers N] [--hits K]");
    return 2;
}
string work = Path.GetFullPath(args[0]);
int layers = Option("--layers", 30), hits = Option("--hits", 3);
int Option(string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

var layout = WanCheckpointLayout.Wan13B with { Layers = layers };
string model = Path.Combine(work, "model"), transformer = Path.Combine(model, "transformer");
Directory.CreateDirectory(transformer);
File.WriteAllText(Path.Combine(model, "model_index.json"),
    "{\"_class_name\": \"WanPipeline\", \"_diffusers_version\": \"0.35.0\", \"transformer\": [\"diffusers\", \"WanTransformer3DModel\"]}");
File.WriteAllText(Path.Combine(transformer, "config.json"), JsonSerializer.Serialize(layout.Config()));
long ckpt = StreamingCheckpointWriter.Write(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"), layout.Tensors().ToList(), seed: 20261126);
foreach (var f in Directory.GetFiles(model, "*", SearchOption.AllDirectories)) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-1));
Console.WriteLine($"checkpoint: {layers} blocks, {ckpt / 1e9:F2} GB bf16");

Console.WriteLine("| process | hit | Prepare s | ORT load s | Prepare - load s |");
Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
Child("build");
// the entry's files are seconds old after the build; a real second run comes later (their writes have settled)
Thread.Sleep(FileStateSettle());
for (int i = 1; i <= hits; i++) Child($"hit {i}");
Directory.Delete(work, recursive: true);
return 0;

static TimeSpan FileStateSettle() => TimeSpan.FromSeconds(2.5);

void Child(string label)
{
    string self = Environment.ProcessPath!;
    var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(TimedBackend).Assembly.Location);
    psi.ArgumentList.Add("--prepare");
    psi.ArgumentList.Add(work);
    using var p = Process.Start(psi)!;
    string line = p.StandardOutput.ReadToEnd().Trim();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"{label} exited {p.ExitCode}");
    Console.WriteLine($"| {label} | {line}");
}

static int PrepareOnce(string work)
{
    var backend = new TimedBackend(new OrtBackend());
    var clock = Stopwatch.StartNew();
    using var provider = new EngineProvider(new EngineCache(Path.Combine(work, "cache")), backend, ComponentExporterRegistry.CreateDefault());
    var (_, report) = provider.Prepare(Path.Combine(work, "model"), "transformer", null);
    double prepare = clock.Elapsed.TotalSeconds;
    Console.WriteLine(FormattableString.Invariant($"{report.Hit} | {prepare:F2} | {backend.LoadSeconds:F2} | {prepare - backend.LoadSeconds:F2} |"));
    return 0;
}

/// <summary>ONNX Runtime CPU, timing its Load (session creation), which the key and verification costs exclude.</summary>
sealed class TimedBackend(IEngineBackend inner) : IEngineBackend
{
    public double LoadSeconds { get; private set; }
    public string Name => inner.Name;
    public string Version => inner.Version;
    public string Device => inner.Device;
    public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options) => inner.Build(onnxPath, entryDirectory, options);
    public IEngine Load(string entryDirectory, EngineManifest manifest)
    {
        var clock = Stopwatch.StartNew();
        var engine = inner.Load(entryDirectory, manifest);
        LoadSeconds = clock.Elapsed.TotalSeconds;
        return engine;
    }
}
