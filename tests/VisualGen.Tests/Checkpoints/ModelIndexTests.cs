using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

public sealed class ModelIndexTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-mi");

    public void Dispose() => Directory.Delete(_dir, true);

    string WriteIndex(string json)
    {
        string path = Path.Combine(_dir, "model_index.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void ComponentsAbsentEntriesAndFields()
    {
        WriteIndex("""
            {"_class_name": "WanPipeline", "_diffusers_version": "0.36.0", "boundary_ratio": 0.875, "expand_timesteps": false,
             "transformer": ["diffusers", "WanTransformer3DModel"], "transformer_2": [null, null],
             "vae": ["diffusers", "AutoencoderKLWan"], "tags": [1, 2, 3]}
            """);
        var index = ModelIndex.Load(_dir);
        Assert.Equal("WanPipeline", index.ClassName);
        Assert.Equal(["transformer", "transformer_2", "vae"], index.Components.Keys.Order());
        Assert.Equal(new ModelComponent("transformer", "diffusers", "WanTransformer3DModel"), index.Components["transformer"]);
        Assert.True(index.HasComponent("transformer"));
        Assert.False(index.HasComponent("transformer_2"));
        Assert.False(index.HasComponent("text_encoder"));
        Assert.Equal(0.875, index.Fields.GetDouble("boundary_ratio"));
        Assert.False(index.Fields.GetBool("expand_timesteps"));
        Assert.Equal([1, 2, 3], index.Fields.GetIntArray("tags"));
    }

    [Fact]
    public void AbsentComponentFolderRequests()
    {
        string path = WriteIndex("""{"_class_name": "WanPipeline", "transformer": ["diffusers", "WanTransformer3DModel"], "transformer_2": [null, null]}""");
        var index = ModelIndex.Load(_dir);
        Assert.Equal($"{path}: component 'transformer_2' is absent in this checkpoint ([null, null])",
            Assert.Throws<CheckpointException>(() => index.ComponentDirectory("transformer_2")).Message);
        Assert.Equal($"{path}: no component 'vae' (components: transformer, transformer_2)",
            Assert.Throws<CheckpointException>(() => index.ComponentDirectory("vae")).Message);
        string dir = Path.Combine(_dir, "transformer");
        Assert.Equal($"{dir}: component folder not found (model_index.json lists 'transformer' as diffusers.WanTransformer3DModel)",
            Assert.Throws<CheckpointException>(() => index.LoadConfig("transformer")).Message);
        Directory.CreateDirectory(dir);
        var e = Assert.Throws<CheckpointException>(() => index.LoadConfig("transformer"));
        Assert.Equal(Path.Combine(dir, "config.json"), e.FilePath);
    }

    [Fact]
    public void MissingModelIndex()
    {
        var e = Assert.Throws<CheckpointException>(() => ModelIndex.Load(_dir));
        Assert.Equal($"{Path.Combine(_dir, "model_index.json")}: model_index.json not found: not a diffusers model folder", e.Message);
    }

    [Fact]
    public void MissingModelFolder()
    {
        string dir = Path.Combine(_dir, "nope");
        Assert.Equal($"{dir}: model folder not found", Assert.Throws<CheckpointException>(() => ModelIndex.Load(dir)).Message);
    }

    [Fact]
    public void ModelIndexThatIsAnArray()
    {
        string path = WriteIndex("""["WanPipeline"]""");
        Assert.Equal($"{path}: expected a JSON object, found an array", Assert.Throws<CheckpointException>(() => ModelIndex.Load(_dir)).Message);
    }

    [Fact]
    public void ClassNameOfTheWrongType()
    {
        string path = WriteIndex("""{"_class_name": 3}""");
        Assert.Equal($"{path}: key '_class_name': expected a string, found a number 3",
            Assert.Throws<CheckpointException>(() => ModelIndex.Load(_dir)).Message);
    }

    [Fact]
    public void LibraryWithoutClass()
    {
        string path = WriteIndex("""{"_class_name": "P", "vae": ["diffusers", null]}""");
        Assert.Equal($"{path}: component 'vae': library 'diffusers' without a class name (expected [library, class] or [null, null])",
            Assert.Throws<CheckpointException>(() => ModelIndex.Load(_dir)).Message);
    }

    [Fact]
    public void A_component_folder_given_as_the_model_names_the_model_folder()
    {
        WriteIndex("""{"_class_name": "WanPipeline", "transformer": ["diffusers", "WanTransformer3DModel"]}""");
        string component = Path.Combine(_dir, "transformer");
        Directory.CreateDirectory(component);
        File.WriteAllText(Path.Combine(component, "config.json"), """{"_class_name": "WanTransformer3DModel"}""");
        var e = Assert.Throws<CheckpointException>(() => ModelIndex.Load(component));
        Assert.EndsWith($"model_index.json not found: not a diffusers model folder; it is the 'transformer' component (WanTransformer3DModel) of the model in {_dir}: pass that folder", e.Message);

        string lonely = Path.Combine(Fixtures.TempDir("vg-mi-lonely"), "scheduler");
        Directory.CreateDirectory(lonely);
        File.WriteAllText(Path.Combine(lonely, "scheduler_config.json"), """{"_class_name": "UniPCMultistepScheduler"}""");
        e = Assert.Throws<CheckpointException>(() => ModelIndex.Load(lonely));
        Assert.EndsWith("it looks like one component of a diffusers model (UniPCMultistepScheduler in scheduler_config.json): pass the model's folder, the one with model_index.json", e.Message);

        string empty = Fixtures.TempDir("vg-mi-empty");
        e = Assert.Throws<CheckpointException>(() => ModelIndex.Load(empty));
        Assert.EndsWith("model_index.json not found: not a diffusers model folder", e.Message);
    }
}
