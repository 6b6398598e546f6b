using VisualGen.Demo;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Demo;

/// <summary>One demo model created for the test class (creation takes a fraction of a second, but most tests only read it).</summary>
public sealed class DemoModelFixture : IDisposable
{
    readonly string _root = Fixtures.TempDir("demo");

    public string Directory { get; }

    public DemoModelFixture() => Directory = DemoModel.EnsureCreated(Path.Combine(_root, "model"));

    public void Dispose() => System.IO.Directory.Delete(_root, recursive: true);
}
