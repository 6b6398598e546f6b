namespace VisualGen.Cli;
static class DemoModels { public static string Ensure() => throw new VisualGen.Exporter.Commands.UsageException("demo pending"); }
