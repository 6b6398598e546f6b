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

using var loggers = LoggerFactory.Create(ServerLogging.Console);
var startupLog = loggers.CreateLogger("VisualGen.Server.Startup");
WebApplication app;
try
{
    app = ServerApp.Create(options, o => PipelineLoading.Load(o, startupLog));
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
