using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

public sealed class ComponentConfigTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-cfg");

    public void Dispose() => Directory.Delete(_dir, true);

    string Write(string json, string file = "config.json")
    {
        string path = Path.Combine(_dir, file);
        File.WriteAllText(path, json);
        return path;
    }

    const string Sample = """
        {"_class_name": "M", "num_layers": 4, "eps": 1e-6, "ratio": 2, "float_int": 3.0, "name": "rms",
         "flag": true, "patch": [1, 2, 2], "scales": [0.5, 1], "names": ["a", "b"], "nothing": null,
         "quantization_config": {"quant_algo": "FP8", "group_size": 128}}
        """;

    [Fact]
    public void TypedGetters()
    {
        Write(Sample);
        var c = ComponentConfig.Load(_dir);
        Assert.Equal("M", c.ClassName);
        Assert.Equal(4, c.GetInt("num_layers"));
        Assert.Equal(4L, c.GetLong("num_layers"));
        Assert.Equal(1e-6, c.GetDouble("eps"));
        Assert.Equal(2.0, c.GetDouble("ratio"));
        Assert.Equal(3, c.GetInt("float_int"));
        Assert.Equal("rms", c.GetString("name"));
        Assert.True(c.GetBool("flag"));
        Assert.Equal([1, 2, 2], c.GetIntArray("patch"));
        Assert.Equal([0.5, 1.0], c.GetDoubleArray("scales"));
        Assert.Equal(["a", "b"], c.GetStringArray("names"));
        Assert.True(c.Has("eps"));
        Assert.False(c.Has("nothing"));
        Assert.False(c.Has("absent"));
        Assert.Null(c.GetOptionalDouble("nothing"));
        Assert.Null(c.GetOptionalInt("absent"));
        Assert.Null(c.GetOptionalIntArray("absent"));
        Assert.Equal(4, c.GetOptionalInt("num_layers"));
        var q = c.GetObject("quantization_config");
        Assert.Equal("FP8", q.GetString("quant_algo"));
        Assert.Equal(128, q.GetInt("group_size"));
    }

    [Fact]
    public void SchedulerConfigFileIsFound()
    {
        Write("""{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 5.0}""", "scheduler_config.json");
        Assert.Equal(5.0, ComponentConfig.Load(_dir).GetDouble("shift"));
    }

    [Fact]
    public void MissingKey()
    {
        string path = Write(Sample);
        var e = Assert.Throws<CheckpointException>(() => ComponentConfig.Load(_dir).GetInt("num_heads"));
        Assert.Equal($"{path}: missing key 'num_heads' (expected an integer)", e.Message);
    }

    public static TheoryData<Func<ComponentConfig, object>, string> WrongKinds => new()
    {
        { c => c.GetInt("name"), "key 'name': expected an integer, found a string \"rms\"" },
        { c => c.GetInt("eps"), "key 'eps': expected an integer, found a number 1e-6" },
        { c => c.GetString("num_layers"), "key 'num_layers': expected a string, found a number 4" },
        { c => c.GetDouble("patch"), "key 'patch': expected a number, found an array" },
        { c => c.GetBool("name"), "key 'name': expected a boolean, found a string \"rms\"" },
        { c => c.GetIntArray("num_layers"), "key 'num_layers': expected an array of integers, found a number 4" },
        { c => c.GetIntArray("scales"), "key 'scales'[0]: expected an array of integers, found a number 0.5" },
        { c => c.GetDoubleArray("names"), "key 'names'[0]: expected an array of numbers, found a string \"a\"" },
        { c => c.GetDouble("nothing"), "key 'nothing': expected a number, found null" },
        { c => c.GetOptionalInt("name")!, "key 'name': expected an integer, found a string \"rms\"" },
        { c => c.GetObject("quantization_config").GetInt("quant_algo"), "key 'quantization_config.quant_algo': expected an integer, found a string \"FP8\"" },
        { c => c.GetObject("flag"), "key 'flag': expected an object, found a boolean" },
    };

    [Theory]
    [MemberData(nameof(WrongKinds))]
    public void WrongKindNamesFileKeyExpectedAndFound(Func<ComponentConfig, object> get, string problem)
    {
        string path = Write(Sample);
        var c = ComponentConfig.Load(_dir);
        var e = Assert.Throws<CheckpointException>(() => get(c));
        Assert.Equal($"{path}: {problem}", e.Message);
    }

    [Fact]
    public void DefaultsApplyOnlyToAbsentKeysAndNullIsNone()
    {
        string path = Write(Sample);
        var c = ComponentConfig.Load(_dir);
        Assert.Equal(4, c.GetInt("num_layers", 7));
        Assert.Equal(7, c.GetInt("absent", 7));
        Assert.Equal([9], c.GetIntArray("absent", [9]));
        Assert.Equal(0.5, c.GetOptionalDouble("absent", 0.5));
        Assert.Null(c.GetOptionalDouble("nothing", 0.5));
        Assert.Equal($"{path}: key 'nothing': expected a number, found null",
            Assert.Throws<CheckpointException>(() => c.GetDouble("nothing", 0.5)).Message);
        Assert.Equal($"{path}: key 'name': expected a boolean, found a string \"rms\"",
            Assert.Throws<CheckpointException>(() => c.GetBool("name", false)).Message);
    }

    [Fact]
    public void UnsupportedValuesNameFileKeyAndValue()
    {
        string path = Write(Sample);
        var c = ComponentConfig.Load(_dir);
        Assert.Equal("rms", c.RequireOneOf("name", "layer", "layer", "rms"));
        Assert.Equal("layer", c.RequireOneOf("absent", "layer", "layer", "rms"));
        Assert.Equal($"{path}: key 'name': \"rms\" is not supported (supported: layer)",
            Assert.Throws<CheckpointException>(() => c.RequireOneOf("name", "layer", "layer")).Message);
        Assert.Equal($"{path}: key 'flag': true is not supported (VisualGen implements only false)",
            Assert.Throws<CheckpointException>(() => c.RejectTrue("flag")).Message);
        c.RejectTrue("absent");
        Assert.Equal($"{path}: key 'quantization_config.group_size': 128 is not supported (why)",
            c.GetObject("quantization_config").Unsupported("group_size", "why").Message);
    }

    [Fact]
    public void WithOverridesOneKeyOfACopy()
    {
        Write(Sample);
        var c = ComponentConfig.Load(_dir);
        var shifted = c.With("eps", 3.5).With("shift", 2);
        Assert.Equal(3.5, shifted.GetDouble("eps"));
        Assert.Equal(2.0, shifted.GetDouble("shift"));
        Assert.Equal(1e-6, c.GetDouble("eps"));
        Assert.False(c.Has("shift"));
        Assert.Equal(4, shifted.GetInt("num_layers"));
        Assert.Equal(c.FilePath, shifted.FilePath);
    }

    sealed record Quant
    {
        public string QuantAlgo { get; init; } = "none";
        public int GroupSize { get; init; }
    }

    sealed record Model
    {
        public int NumLayers { get; init; } = 1;
        public float Eps { get; init; } = 1;
        public int FloatInt { get; init; }
        public int[] Patch { get; init; } = [];
        public float[] Scales { get; init; } = [];
        public string? Nothing { get; init; } = "default";
        public int? Absent { get; init; } = 5;
        public string Name { get; init; } = "";
        public bool Flag { get; init; }
        public Quant? QuantizationConfig { get; init; }
        public int ComputedIsIgnored => NumLayers * 2;
    }

    [Fact]
    public void RecordsTakeKeysByDiffusersNames()
    {
        Write(Sample);
        var m = ComponentConfig.Load(_dir).ToRecord<Model>();
        Assert.Equal(4, m.NumLayers);
        Assert.Equal(1e-6f, m.Eps);
        Assert.Equal(3, m.FloatInt);
        Assert.Equal([1, 2, 2], m.Patch);
        Assert.Equal([0.5f, 1f], m.Scales);
        Assert.Null(m.Nothing);
        Assert.Equal(5, m.Absent);
        Assert.Equal("rms", m.Name);
        Assert.True(m.Flag);
        Assert.Equal(new Quant { QuantAlgo = "FP8", GroupSize = 128 }, m.QuantizationConfig);
    }

    sealed record NeedsNumber { public double NumLayers { get; init; } public int[] Name { get; init; } = []; }
    sealed record NotNullable { public string Nothing { get; init; } = "x"; }
    sealed record NestedWrong { public Quant QuantizationConfig { get; init; } = new(); public int[] Scales { get; init; } = []; }

    [Fact]
    public void RecordErrorsAreTheGettersErrors()
    {
        string path = Write(Sample);
        var c = ComponentConfig.Load(_dir);
        Assert.Equal($"{path}: key 'name': expected an array of integers, found a string \"rms\"",
            Assert.Throws<CheckpointException>(() => c.ToRecord<NeedsNumber>()).Message);
        Assert.Equal($"{path}: key 'nothing': expected a string, found null",
            Assert.Throws<CheckpointException>(() => c.ToRecord<NotNullable>()).Message);
        Write(Sample.Replace("\"quant_algo\": \"FP8\"", "\"quant_algo\": 3"));
        Assert.Equal($"{path}: key 'quantization_config.quant_algo': expected a string, found a number 3",
            Assert.Throws<CheckpointException>(() => ComponentConfig.Load(_dir).ToRecord<NestedWrong>()).Message);
    }

    [Fact]
    public void ConfigThatIsAnArray()
    {
        string path = Write("[1, 2, 3]");
        var e = Assert.Throws<CheckpointException>(() => ComponentConfig.Load(_dir));
        Assert.Equal($"{path}: expected a JSON object, found an array", e.Message);
    }

    [Fact]
    public void ConfigThatIsNotJson()
    {
        string path = Write("{\"a\": ");
        var e = Assert.Throws<CheckpointException>(() => ComponentConfig.Load(_dir));
        Assert.StartsWith($"{path}: not valid JSON", e.Message);
    }

    [Fact]
    public void MissingConfigJson()
    {
        var e = Assert.Throws<CheckpointException>(() => ComponentConfig.Load(_dir));
        Assert.Equal(Path.Combine(_dir, "config.json"), e.FilePath);
        Assert.Contains($"config file not found (looked for config.json and scheduler_config.json in {_dir})", e.Message);
    }

    [Fact]
    public void MissingComponentFolder()
    {
        string dir = Path.Combine(_dir, "vae");
        var e = Assert.Throws<CheckpointException>(() => ComponentConfig.Load(dir));
        Assert.Equal($"{dir}: component folder not found", e.Message);
    }
}
