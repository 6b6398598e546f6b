using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2.SingleFile;

/// <summary>
/// Lightricks' monolithic LTX-2 checkpoint (<c>ltx-2-19b-dev.safetensors</c>, <c>ltx-2-19b-distilled.safetensors</c>)
/// read as an LTX2Pipeline model. The file holds the transformer, the text connectors, the video VAE, the audio VAE
/// and the vocoder under ltx_core's key names, with their configuration as JSON in the header's metadata; it is
/// recognised by that metadata (<see cref="Ltx2FileMetadata"/>).
/// <para>Layout decision: <c>--model</c> names the file itself. The Gemma 3 text encoder and its tokenizer are not
/// in it; they are read from the folders <c>text_encoder/</c> and <c>tokenizer/</c> beside the file, which is how the
/// Lightricks/LTX-2 repository ships them (its root holds several monolithic files — dev, distilled, fp8 — next to
/// the diffusers folders, so naming the folder would be ambiguous). The scheduler is the one diffusers' conversion
/// saves with the pipeline.</para>
/// </summary>
public static class Ltx2SingleFile
{
    public const string PipelineClass = "LTX2Pipeline";

    static readonly (string Name, string Library, string Class)[] Components =
    [
        ("transformer", "diffusers", "LTX2VideoTransformer3DModel"),
        ("connectors", "ltx2", "LTX2TextConnectors"),
        ("vae", "diffusers", "AutoencoderKLLTX2Video"),
        ("audio_vae", "diffusers", "AutoencoderKLLTX2Audio"),
        ("vocoder", "ltx2", "LTX2Vocoder"),
        ("scheduler", "diffusers", "FlowMatchEulerDiscreteScheduler"),
        ("text_encoder", "transformers", "Gemma3ForConditionalGeneration"),
        ("tokenizer", "transformers", "GemmaTokenizer"),
    ];

    /// <summary>The pipeline registry's detector: LTX2Pipeline for a file whose metadata is LTX-2's, null otherwise.</summary>
    public static string? Detect(string path, IReadOnlyDictionary<string, string> metadata) =>
        Ltx2FileMetadata.Describes(metadata) ? PipelineClass : null;

    /// <summary>Opens <paramref name="path"/> (whose header <paramref name="header"/> is) as a model: configs mapped
    /// from the metadata, weights as renaming views of the file, text encoder and tokenizer from the folders beside it.</summary>
    public static ModelIndex Open(string path, SafeTensorsFile header)
    {
        var metadata = Ltx2FileMetadata.Read(path, header.Metadata);
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var (hidden, layers) = GemmaWidths(path, directory);

        var decoderBlocks = Ltx2VaeBlock.ReadList(path, "decoder_blocks", Required(metadata, metadata.Vae, "decoder_blocks"));
        var encoderBlocks = Ltx2VaeBlock.ReadList(path, "encoder_blocks", Required(metadata, metadata.Vae, "encoder_blocks"));
        var vaeRules = Ltx2KeyRules.VideoVae(Ltx2VaeBlock.EncoderModules(path, encoderBlocks), Ltx2VaeBlock.DecoderModules(path, decoderBlocks));
        var names = Ltx2KeyRules.Map(path, header.Names, vaeRules);
        foreach (var (component, map) in names)
            if (map.Count == 0) throw new CheckpointException(path, $"the LTX-2 metadata describes a {component}, but the file holds none of its tensors");

        var configs = new Ltx2FileConfigs(metadata, header, hidden, layers);
        FileComponent Weights(string component, ComponentConfig config)
        {
            var map = names[component];
            return new FileComponent(path, config, () => Open(path, map, component));
        }
        var inFile = new Dictionary<string, FileComponent>(StringComparer.Ordinal)
        {
            ["transformer"] = Weights("transformer", configs.Transformer()),
            ["connectors"] = Weights("connectors", configs.Connectors()),
            ["vae"] = Weights("vae", configs.VideoVae(decoderBlocks)),
            ["audio_vae"] = Weights("audio_vae", configs.AudioVae()),
            ["vocoder"] = Weights("vocoder", configs.Vocoder()),
            ["scheduler"] = new FileComponent(path, configs.Scheduler(),
                () => throw new CheckpointException(path, "the scheduler has no weights")),
        };

        var fields = new JsonObject { ["_class_name"] = PipelineClass };
        var components = new Dictionary<string, ModelComponent>(StringComparer.Ordinal);
        foreach (var (name, library, cls) in Components)
        {
            components[name] = new ModelComponent(name, library, cls);
            fields[name] = new JsonArray(library, cls);
        }
        string description = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{Path.GetFileName(path)}\n{metadata.ModelVersion}\n{metadata.ConfigText}")));
        return ModelIndex.ForSingleFile(path, directory, PipelineClass, components,
            ComponentConfig.FromElement(path, JsonSerializer.SerializeToElement(fields)), inFile, description);
    }

    static RenamedTensorSource Open(string path, IReadOnlyDictionary<string, string> map, string component)
    {
        var file = SafeTensorsFile.Open(path);
        try { return new RenamedTensorSource(file, map, component); }
        catch { file.Dispose(); throw; }
    }

    static JsonElement Required(Ltx2FileMetadata metadata, JsonElement section, string key) =>
        section.TryGetProperty(key, out var v) ? v
            : throw new CheckpointException(metadata.FilePath, $"metadata config.vae has no '{key}' (the block list ltx_core builds the VAE from)");

    /// <summary>The Gemma 3 text config's hidden size and layer count: the connectors' input is every layer's
    /// hidden states (and the embeddings) side by side.</summary>
    static (int Hidden, int Layers) GemmaWidths(string path, string directory)
    {
        string encoder = Path.Combine(directory, "text_encoder"), tokenizer = Path.Combine(directory, "tokenizer");
        var missing = new[] { encoder, tokenizer }.Where(d => !Directory.Exists(d)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(path, $"LTX-2's monolithic file holds no text encoder or tokenizer: VisualGen reads the Gemma 3 text encoder " +
                $"and its tokenizer from the folders text_encoder/ and tokenizer/ beside the file (as the Lightricks/LTX-2 repository ships them); missing: {string.Join(", ", missing)}");
        var config = ComponentConfig.Load(encoder);
        var text = config.GetObject("text_config");
        return (text.GetInt("hidden_size"), text.GetInt("num_hidden_layers"));
    }
}
