using System.Text.Json.Nodes;
using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Cosmos3 checkpoints this implementation does not cover are refused when loaded, naming the setting.</summary>
public class Cosmos3CheckpointTests
{
    [ConformanceTheory]
    [InlineData("model_index.json", "use_native_flow_schedule", "use_native_flow_schedule")]
    [InlineData("transformer/config.json", "sound_gen", "sound_gen")]
    [InlineData("transformer/config.json", "action_gen", "action_gen")]
    public void Unsupported_settings_are_refused_naming_them(string file, string key, string named)
    {
        string dir = Fixtures.TempDir("vg-cosmos3-unsupported");
        using var cleanup = new DeletedOnDispose(dir);
        CopyFolder(Fixtures.Checkpoint("cosmos3_t2v"), dir);
        string path = Path.Combine(dir, file);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json[key] = true;
        File.SetAttributes(path, FileAttributes.Normal);
        File.WriteAllText(path, json.ToJsonString());
        using var provider = ConformancePipelines.Provider();
        var e = Assert.Throws<CheckpointException>(() => ModelFamilies.CreateRegistry().Create(dir, provider));
        Assert.Contains(named, e.Message);
    }

    [ConformanceFact]
    public void A_missing_chat_template_is_refused()
    {
        string dir = Fixtures.TempDir("vg-cosmos3-no-template");
        using var cleanup = new DeletedOnDispose(dir);
        CopyFolder(Fixtures.Checkpoint("cosmos3_t2v"), dir);
        File.Delete(Path.Combine(dir, "text_tokenizer", "chat_template.jinja"));
        using var provider = ConformancePipelines.Provider();
        var e = Assert.Throws<CheckpointException>(() => ModelFamilies.CreateRegistry().Create(dir, provider));
        Assert.Contains("no chat template", e.Message);
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
        {
            string target = Path.Combine(to, Path.GetFileName(f));
            File.Copy(f, target);
            File.SetAttributes(target, FileAttributes.Normal);
        }
        foreach (var d in Directory.GetDirectories(from)) CopyFolder(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
