using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>
/// The real server on the tiny conformance Wan 2.1 T2V checkpoint, loaded by the server's own loader
/// (<see cref="PipelineLoading"/>), with the engine cache the pipeline tests share (built once per test run).
/// </summary>
public static class WanServer
{
    public const string Family = "wan21_t2v";
    /// <summary>The id the server gives the Wan family when --model-name is absent.</summary>
    public const string ModelId = "wan";

    public static string Checkpoint => Fixtures.Checkpoint(Family);

    public static ServerOptions Options(int queueSize = 16) => new()
    {
        ModelDir = Checkpoint,
        EngineCacheDir = ConformancePipelines.CacheDir,
        DataDir = Fixtures.TempDir("vg-server"),
        QueueSize = queueSize,
    };

    public static IGenerationPipeline Load(ServerOptions options) => PipelineLoading.Load(options, NullLogger.Instance);

    public static Task<LiveServer> StartAsync(ServerOptions? options = null) => LiveServer.StartAsync(Load, options ?? Options());

    /// <summary>The library's pipeline, outside the server, for reference outputs.</summary>
    public static GenerationResult Generate(GenerationRequest request)
    {
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Checkpoint, provider);
        return pipeline.GenerateAsync(request).GetAwaiter().GetResult();
    }
}

/// <summary>The server as a separate <c>dotnet VisualGen.Server.dll</c> process (from the test output), to kill it.</summary>
public sealed class ServerProcess : IDisposable
{
    readonly Process _process;

    public Uri BaseAddress { get; }
    public HttpClient Http { get; }

    readonly StringBuilder _output;

    ServerProcess(Process process, Uri address, StringBuilder output)
    {
        _process = process;
        _output = output;
        BaseAddress = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "VisualGen.Server.dll");

    static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var psi = Fixtures.DotnetStart([ServerDll, .. args]);
        psi.Environment.Remove(ServerOptions.ApiKeysVariable);
        psi.Environment.Remove(VisualGen.Server.Jobs.Postgres.StoreAddress.Variable);
        return psi;
    }

    /// <summary>Starts the server on a free loopback port and waits for its "Now listening on" line.</summary>
    public static Task<ServerProcess> StartAsync(ServerOptions o, params string[] extraArgs) =>
        LaunchAsync(StartInfo(["--model", o.ModelDir!, "--engine-cache", o.EngineCacheDir!, "--data", o.DataDir, "--port", "0", "--queue-size", o.QueueSize.ToString(), .. extraArgs]));

    /// <summary>The server on the gradient test pipeline (this test assembly's <c>gradient-server</c> mode), with its own
    /// command line; requests whose prompt is <paramref name="heldPrompt"/> wait until the process is killed.</summary>
    public static Task<ServerProcess> StartGradientAsync(string heldPrompt, params string[] serverArgs)
    {
        var psi = StartInfo([]);
        psi.ArgumentList.Clear();
        foreach (var a in (string[])[typeof(VisualGen.Tests.Engines.TestHelperProgram).Assembly.Location, "gradient-server", heldPrompt, "--port", "0", .. serverArgs])
            psi.ArgumentList.Add(a);
        return LaunchAsync(psi);
    }

    static async Task<ServerProcess> LaunchAsync(ProcessStartInfo startInfo)
    {
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var p = new Process { StartInfo = startInfo };
        void Line(string? l)
        {
            if (l is null) return;
            lock (output) output.AppendLine(l);
            const string marker = "Now listening on: ";
            int at = l.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0) listening.TrySetResult(new Uri(l[(at + marker.Length)..].Trim()));
        }
        p.OutputDataReceived += (_, e) => Line(e.Data);
        p.ErrorDataReceived += (_, e) => Line(e.Data);
        p.EnableRaisingEvents = true;
        p.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"server exited ({p.ExitCode}) before listening:\n{Text(output)}"));
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return new ServerProcess(p, address, output);
    }

    static string Text(StringBuilder b)
    {
        lock (b) return b.ToString();
    }

    /// <summary>Runs the server with these arguments to its exit; returns (exit code, stdout, stderr).</summary>
    public static (int Code, string Out, string Err) RunToExit(params string[] args)
    {
        using var p = Process.Start(StartInfo(args))!;
        Task<string> o = p.StandardOutput.ReadToEndAsync(), e = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "the server did not exit in 60 s");
        return (p.ExitCode, o.Result, e.Result);
    }

    /// <summary>What the process wrote so far (stdout and stderr), for assertion messages.</summary>
    public string Output => Text(_output);

    /// <summary>SIGTERM (as systemd, Docker or Kubernetes stop a service), through /bin/kill: .NET's Process has no API for it.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("/bin/kill", ["-TERM", _process.Id.ToString()])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the process to exit on its own; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the server did not exit within {timeout}:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, as after a crash or an OOM kill.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        Assert.True(_process.WaitForExit(30_000), "the killed server did not exit");
    }

    public void Dispose()
    {
        Http.Dispose();
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
