using System.Globalization;
using VisualGen.Tools.ServerLoad;

// usage: dotnet run --project tools/bench/ServerLoad -- --url http://127.0.0.1:8000 [--requests 50] [--size 48x32]
//        [--frames 9] [--steps 2] [--api-key KEY] [--timeout-minutes 20]
// Prints a markdown table; exit code 0 only when every request got 200 or 429, none was lost,
// every accepted job completed and the server still answers /health.
var o = new LoadOptions { Server = new Uri("http://127.0.0.1:8000") };
for (int i = 0; i < args.Length; i++)
{
    string flag = args[i];
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
    int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
    o = flag switch
    {
        "--url" => o with { Server = new Uri(Value()) },
        "--requests" => o with { Requests = Int() },
        "--size" => o with { Size = Value() },
        "--frames" => o with { NumFrames = Int() },
        "--steps" => o with { Steps = Int() },
        "--api-key" => o with { ApiKey = Value() },
        "--timeout-minutes" => o with { Timeout = TimeSpan.FromMinutes(Int()) },
        _ => throw new ArgumentException($"unknown argument '{flag}'"),
    };
}
if (!o.Server.IsLoopback) throw new ArgumentException($"--url {o.Server}: this load tool only targets loopback servers");
var r = await LoadRun.RunAsync(o);
Console.Write(LoadRun.Markdown(r));
foreach (var p in r.Problems) Console.WriteLine($"- problem: {p}");
Console.WriteLine(r.Passed ? "PASS" : "FAIL");
return r.Passed ? 0 : 1;
