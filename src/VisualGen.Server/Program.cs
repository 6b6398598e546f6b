using VisualGen.Server.Hosting;

ServerOptions options;
try
{
    options = ServerOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
catch (IOException e)
{
    Console.Error.WriteLine($"VisualGen.Server: cannot start: {e.Message}");
    return 1;
}

// before the model loads (minutes for a real one): a port in use is one line now, not after loading
if (ListenCheck.Problem(options.ListenUrls) is { } busy)
{
    Console.Error.WriteLine($"VisualGen.Server: cannot start: {busy}");
    return 1;
}

using var loggers = LoggerFactory.Create(ServerLogging.Console);
var startupLog = loggers.CreateLogger("VisualGen.Server.Startup");
WebApplication app;
try
{
    app = ServerApp.Create(options, (o, builds) => PipelineLoading.Load(o, startupLog, builds));
    await app.StartAsync();
}
catch (Exception e)
{
    // a model that does not load, an unknown engine, a port in use: one line, no stack trace
    loggers.Dispose();
    Console.Error.WriteLine($"VisualGen.Server: cannot start: {StartupError.Describe(e)}");
    return 1;
}
await using (app)
    await app.WaitForShutdownAsync();
return 0;
