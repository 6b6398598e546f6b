namespace VisualGen.Engines;

/// <summary>Keys of the model metadata the exporter writes into its graphs and engines may read.</summary>
public static class GraphMetadata
{
    /// <summary>Comma-separated graph inputs whose values depend only on the input shapes (position ids, the latent
    /// grid), or small host-side inputs that select a plan (Qwen2.5-VL's attention_mask, whose cumulative sum gives the
    /// positions): an engine may read them when it plans a shape and fold what they feed (rotary tables, masks) like
    /// constants; a new value is a new plan.</summary>
    public const string PlanTimeInputs = "visualgen.plan_time_inputs";

    /// <summary>JSON: which initializers are a checkpoint tensor's stored bytes, and where those lie
    /// (<see cref="CheckpointTensors"/>), so an engine may reference the checkpoint instead of copying the weights.
    /// Written by the exporter's ONNX writer; absent when no initializer comes straight from a checkpoint file.</summary>
    public const string CheckpointTensors = "visualgen.checkpoint_tensors";
}

/// <summary>The value of <see cref="GraphMetadata.CheckpointTensors"/>: <see cref="Files"/> (full paths) and, per
/// initializer name, [file index, byte offset in that file, byte length, transposed (1: the initializer is the
/// [cols, rows] transpose of the stored 2-D [rows, cols] tensor; 0: the bytes as they are)].</summary>
public sealed record CheckpointTensorMap(List<string> Files, Dictionary<string, long[]> Tensors)
{
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this);

    public static CheckpointTensorMap? FromJson(string json) => System.Text.Json.JsonSerializer.Deserialize<CheckpointTensorMap>(json);
}
