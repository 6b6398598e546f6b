using System.Globalization;
using VisualGen.Engines;

namespace VisualGen.Tests.Engines;

/// <summary>
/// The test assembly's entry point (the test runner never calls it): lets a test start this assembly as a
/// separate process (<c>dotnet VisualGen.Tests.dll engine-cache-build ...</c>) to exercise cross-process locking, or
/// (<c>readme-example</c>) to run README's C# example with its default folders.
/// </summary>
public static class TestHelperProgram
{
    public static int Main(string[] args)
    {
        if (args is ["engine-cache-build", var root, var graph, var delayMs, var buildLog])
        {
            var backend = new AddConstantBackend
            {
                BuildDelay = TimeSpan.FromMilliseconds(int.Parse(delayMs, CultureInfo.InvariantCulture)),
                BuildLog = buildLog,
            };
            var result = new EngineCache(root).GetOrBuild(EngineCacheTestSupport.Request(graph), backend);
            using (result.Engine)
                Console.WriteLine(FormattableString.Invariant($"hit={result.Hit} y={EngineCacheTestSupport.Run(result.Engine, 1f)[0]}"));
            return 0;
        }
        if (args is ["gradient-server", var heldPrompt, .. var serverArgs])
        {
            // the server (its own command line) on the gradient test pipeline; requests with the held prompt wait forever
            var options = VisualGen.Server.Hosting.ServerOptions.Parse(serverArgs);
            var pipeline = new VisualGen.Tests.Server.GatedPipeline(new VisualGen.Tests.Server.GradientPipeline(), new VisualGen.Tests.Server.PipelineGate(open: false), heldPrompt);
            var app = VisualGen.Server.Hosting.ServerApp.Create(options, _ => pipeline);
            app.Run();
            return 0;
        }
        if (args is ["demo-directory"])
        {
            Console.WriteLine(VisualGen.Demo.DemoModel.DefaultDirectory());
            return 0;
        }
        if (args is ["readme-example"])
        {
            Library.ReadmeExample.RunAsync().GetAwaiter().GetResult();
            return 0;
        }
        Console.Error.WriteLine("usage: engine-cache-build <root> <graph> <build delay ms> <build log>");
        return 2;
    }
}
