using VisualGen.Engines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>One step of a Wan expert for a step cache: the whole transformer or its parts
/// (<see cref="TransformerParts"/>, components "transformer.embed", "transformer.blocks_0_8", ...) on the step's
/// batched inputs (cond row first, then uncond).</summary>
sealed class WanCachedTransformer(Func<string, IEngine> engine, string expert, StepInputs stepInputs, HostTensor hiddenStates,
    HostTensor timestep, float[] latentInput, int blockCount) : ISplitTransformer
{
    public int BlockCount => blockCount;

    public float[] LatentInput => latentInput;

    public float[] Whole() => Run("", new() { ["hidden_states"] = hiddenStates, ["timestep"] = timestep }, "sample").Floats;

    public float[] TimeEmbedding()
    {
        var temb = Run(TransformerParts.TimeEmbedding, new() { ["timestep"] = timestep }, "temb");
        long perRow = temb.Floats.LongLength / temb.Shape[0];
        return temb.Floats.AsSpan(0, (int)perRow).ToArray();   // the conditional row
    }

    public ITensorArithmetic Arithmetic => engine(expert).AsResident().Arithmetic;

    public IEngineTensor Embed() => RunPart(TransformerParts.Embed, new() { ["hidden_states"] = hiddenStates }, null, "hidden");

    public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) =>
        RunPart(TransformerParts.Blocks(from, to), new() { ["timestep"] = timestep }, hidden, "hidden_out");

    public float[] Output(IEngineTensor hidden)
    {
        using var sample = RunPart(TransformerParts.Output, new() { ["timestep"] = timestep }, hidden, "sample");
        return sample.ToHost().Floats;
    }

    /// <summary>Runs the whole transformer ("") or a part; only the whole and the blocks take the text (and image) context.</summary>
    HostTensor Run(string part, Dictionary<string, HostTensor> inputs, string output) =>
        stepInputs.Run(engine(part.Length == 0 ? expert : $"{expert}.{part}"), inputs, output,
            withConstants: part.Length == 0 || TransformerParts.TryParseBlocks(part, out _, out _));

    /// <summary>A part where the engines compute: the host inputs uploaded for the call, the token stream passed as it is.</summary>
    IEngineTensor RunPart(string part, Dictionary<string, HostTensor> inputs, IEngineTensor? hidden, string output)
    {
        var e = engine($"{expert}.{part}");
        var resident = e.AsResident();
        using var uploads = new EngineTensorScope();
        var feed = inputs.ToDictionary(kv => kv.Key, kv => (IEngineTensor)uploads.Own(resident.Upload(kv.Value)));
        if (hidden is not null) feed["hidden"] = hidden;
        return stepInputs.RunResident(e, feed, output, withConstants: TransformerParts.TryParseBlocks(part, out _, out _));
    }
}
