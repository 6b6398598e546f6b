using System.Globalization;
using VisualGen.Tools.ServerLoad;

// usage: dotnet run --project tools/bench/ServerLoad -- --url http://127.0.0.1:8000 [--url URL]... [--requests 50] [--size 48x32]
//        [--frames 9] [--steps 2] [--api-key KEY] [--timeout-minutes 20]
// Prints a markdown table; exit code 0 only when every request got 200 or 429, none was lost,
// every accepted job completed and the server still answers /health. A repeated --url adds replicas of one deployment
// (a shared store): submissions go round-robin; their claim metrics are printed after the table.
var o = new LoadOptions { Server = new Uri("http://127.0.0.1:8000") };
bool seenUrl = false;
LoadOptions AddUrl(LoadOptions x, Uri u)
{
    if (seenUrl) return x with { Replicas = [.. x.Replicas, u] };
    seenUrl = true;
    return x with { Server = u };
}
for (int i = 0; i < args.Length; i++)
{
    string flag = args[i];
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
    int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
    o = flag switch
    {
        "--url" => AddUrl(o, new Uri(Value())),
        "--requests" => o with { Requests = Int() },
        "--size" => o with { Size = Value() },
        "--frames" => o with { NumFrames = Int() },
        "--steps" => o with { Steps = Int() },
        "--api-key" => o with { ApiKey = Value() },
        "--timeout-minutes" => o with { Timeout = TimeSpan.FromMinutes(Int()) },
        _ => throw new ArgumentException($"unknown argument '{flag}'"),
    };
}
foreach (var u in new[] { o.Server }.Concat(o.Replicas))
    if (!u.IsLoopback) throw new ArgumentException($"--url {u}: this load tool only targets loopback servers");
var r = await LoadRun.RunAsync(o);
Console.Write(LoadRun.Markdown(r));
Console.WriteLine($"throughput: {r.Completed} jobs in {r.DrainSeconds:F1} s = {r.JobsPerSecond:F2} jobs/s on {1 + o.Replicas.Count} server(s)");
foreach (var line in await LoadRun.ClaimMetricsAsync(o)) Console.WriteLine(line);
foreach (var p in r.Problems) Console.WriteLine($"- problem: {p}");
Console.WriteLine(r.Passed ? "PASS" : "FAIL");
return r.Passed ? 0 : 1;
