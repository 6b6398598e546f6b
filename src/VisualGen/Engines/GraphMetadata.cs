namespace VisualGen.Engines;

/// <summary>Keys of the model metadata the exporter writes into its graphs and engines may read.</summary>
public static class GraphMetadata
{
    /// <summary>Comma-separated graph inputs whose values depend only on the input shapes (position ids, the latent
    /// grid), or small host-side inputs that select a plan (Qwen2.5-VL's attention_mask, whose cumulative sum gives the
    /// positions): an engine may read them when it plans a shape and fold what they feed (rotary tables, masks) like
    /// constants; a new value is a new plan.</summary>
    public const string PlanTimeInputs = "visualgen.plan_time_inputs";
}
