using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using VisualGen.Bench.ExportMemory;
using VisualGen.Exporter.Export;

// Times the weight fingerprint of the engine cache key (SHA-256 of every weight byte, memoized per file):
//   dotnet run -c Release --project tools/bench/WeightHash -- <work folder> [--layers N]
// writes a random bf16 Wan 2.1 1.3B-shaped transformer (N of its 30 blocks; default 30) under <work>/transformer (write
// times an hour back, as a download's), waits for its writes to settle, then runs child processes that each compute
// WeightFingerprint.Compute with the memo in <work>/cache and print its time: the one-time hash with the file in the
// page cache, memoized runs, then (memo deleted, the file's pages dropped with posix_fadvise DONTNEED) the one-time
// hash from disk, and a memoized run. Deletes <work> at the end. A child: WeightHash --fingerprint <work>.

if (args is ["--fingerprint", var dir]) return FingerprintOnce(dir);
if (args.Length < 1 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: WeightHash <work folder> [--layers N]");
    return 2;
}
string work = Path.GetFullPath(args[0]);
int layers = Array.IndexOf(args, "--layers") is var li and >= 0 ? int.Parse(args[li + 1], CultureInfo.InvariantCulture) : 30;
var layout = WanCheckpointLayout.Wan13B with { Layers = layers };
string transformer = Path.Combine(work, "transformer");
Directory.CreateDirectory(transformer);
string weights = Path.Combine(transformer, "diffusion_pytorch_model.safetensors");
long ckpt = StreamingCheckpointWriter.Write(weights, layout.Tensors().ToList(), seed: 20261126);
File.WriteAllText(Path.Combine(transformer, "config.json"), "{}");
foreach (var f in Directory.GetFiles(transformer)) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-1));
Console.WriteLine($"checkpoint: {layers} blocks, {ckpt / 1e9:F2} GB bf16");
Thread.Sleep(TimeSpan.FromSeconds(2.5)); // FileState.SettleTime: the memo records only settled files

Console.WriteLine("| run | bytes hashed | s | GB/s |");
Console.WriteLine("| --- | ---: | ---: | ---: |");
Child("one-time hash (file in page cache)");
Child("memoized 1");
Child("memoized 2");
Directory.Delete(Path.Combine(work, "cache"), recursive: true);
DropPages(weights);
Child("one-time hash (pages dropped: from disk)");
Child("memoized 3");
Directory.Delete(work, recursive: true);
return 0;

void Child(string label)
{
    string self = Environment.ProcessPath!;
    var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(System.Reflection.Assembly.GetEntryAssembly()!.Location);
    psi.ArgumentList.Add("--fingerprint");
    psi.ArgumentList.Add(work);
    using var p = Process.Start(psi)!;
    string line = p.StandardOutput.ReadToEnd().Trim();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"{label} exited {p.ExitCode}");
    Console.WriteLine($"| {label} | {line}");
}

static int FingerprintOnce(string work)
{
    var clock = Stopwatch.StartNew();
    var r = WeightFingerprint.Compute(Path.Combine(work, "transformer"), new WeightHashMemo(Path.Combine(work, "cache")), null, "transformer");
    double s = clock.Elapsed.TotalSeconds;
    Console.WriteLine(FormattableString.Invariant($"{r.BytesHashed / 1e9:F2} GB | {s:F3} | {(r.BytesHashed > 0 ? $"{r.BytesHashed / 1e9 / s:F2}" : "-")} |"));
    return 0;
}

// Writes the file's dirty pages and asks the kernel to drop its cached pages, so the next read comes from disk.
static void DropPages(string path)
{
    using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
    fs.Flush(flushToDisk: true);
    int rc = PosixFadvise((int)fs.SafeFileHandle.DangerousGetHandle(), 0, 0, 4 /* POSIX_FADV_DONTNEED */);
    if (rc != 0) throw new IOException($"posix_fadvise({path}) failed: {rc}");
}

[DllImport("libc", EntryPoint = "posix_fadvise")]
static extern int PosixFadvise(int fd, long offset, long len, int advice);
