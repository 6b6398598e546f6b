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
var app = ServerApp.Create(options, PipelineLoading.Load);
await app.RunAsync();
return 0;
