using VisualGen.Demo;

namespace VisualGen.Cli;

/// <summary>Where the built-in demo model lives: $VISUALGEN_DEMO, else the demo model's default folder.</summary>
static class DemoModels
{
    public static string Ensure() => DemoModel.EnsureCreated(Environment.GetEnvironmentVariable("VISUALGEN_DEMO") is { Length: > 0 } demo ? demo : DemoModel.DefaultDirectory());
}
