using VisualGen.Engines;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Pipelines.Wan;

/// <summary>One step of a Wan expert for a step cache: the whole transformer or its parts
/// (<see cref="TransformerParts"/>, components "transformer.embed", "transformer.blocks_0_8", ...) on the step's
/// batched inputs (cond row first, then uncond), all where the engines compute: the resident loop's tensors, the text
/// context from <see cref="StepInputs"/>.</summary>
sealed class WanCachedTransformer(Func<string, IEngine> engine, string expert, StepInputs stepInputs, IEngineTensor hiddenStates,
    IEngineTensor timestep, IEngineTensor latentInput, int blockCount) : ISplitTransformer
{
    public int BlockCount => blockCount;

    public ITensorArithmetic Arithmetic => engine(expert).AsResident().Arithmetic;

    public IEngineTensor LatentInput => latentInput;

    public IEngineTensor Whole() => Run("", new() { ["hidden_states"] = hiddenStates, ["timestep"] = timestep }, "sample");

    public float[] TimeEmbedding()
    {
        using var t = Run(TransformerParts.TimeEmbedding, new() { ["timestep"] = timestep }, "temb");
        var temb = t.ToHost();
        long perRow = temb.Floats.LongLength / temb.Shape[0];
        return temb.Floats.AsSpan(0, (int)perRow).ToArray();   // the conditional row
    }

    public IEngineTensor Embed() => Run(TransformerParts.Embed, new() { ["hidden_states"] = hiddenStates }, "hidden");

    public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) =>
        Run(TransformerParts.Blocks(from, to), new() { ["hidden"] = hidden, ["timestep"] = timestep }, "hidden_out");

    public IEngineTensor Output(IEngineTensor hidden) =>
        Run(TransformerParts.Output, new() { ["hidden"] = hidden, ["timestep"] = timestep }, "sample");

    /// <summary>Runs the whole transformer ("") or a part; only the whole and the blocks take the text (and image) context.</summary>
    IEngineTensor Run(string part, Dictionary<string, IEngineTensor> inputs, string output) =>
        stepInputs.RunResident(engine(part.Length == 0 ? expert : $"{expert}.{part}"), inputs, output,
            withConstants: part.Length == 0 || TransformerParts.TryParseBlocks(part, out _, out _));
}
