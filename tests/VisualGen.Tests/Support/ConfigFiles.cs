namespace VisualGen.Tests.Support;

/// <summary>A YAML run configuration (--config) written to a new temporary folder.</summary>
public static class ConfigFiles
{
    public static string Write(string yaml)
    {
        string path = Path.Combine(Fixtures.TempDir("config"), "visualgen.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
