using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>The flux1 fixture's prompt through the checkpoint's text encoders, from the golden token ids (which the
/// pipeline's tokenizers reproduce exactly): CLIP's pooled output and T5's last hidden state, as FluxPipeline feeds them.</summary>
public static class FluxGoldenText
{
    public static (HostTensor Pooled, HostTensor PromptEmbeds) Encode(IEngineProvider provider, string checkpoint, SafeTensorsFile golden)
    {
        var pooled = provider.GetEngine(checkpoint, "text_encoder", null).Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.input_ids"),
        })["pooler_output"];
        var t5Ids = Fixtures.GoldenTensor(golden, "tokenizer_2.prompt.input_ids");
        var promptEmbeds = provider.GetEngine(checkpoint, "text_encoder_2", null).Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = t5Ids,
            ["attention_mask"] = HostTensor.Int64(Enumerable.Repeat(1L, (int)t5Ids.Shape[1]).ToArray(), 1, t5Ids.Shape[1]),
        })["last_hidden_state"];
        return (pooled, promptEmbeds);
    }

    /// <summary>FluxPipeline's schedule for a <paramref name="height"/>×<paramref name="width"/> image: the checkpoint's
    /// scheduler, shifted by mu for its token count, over linspace(1, 1/steps, steps).</summary>
    public static VisualGen.Schedulers.IScheduler Schedule(ModelIndex index, int steps, int height, int width)
    {
        var sc = index.LoadConfig("scheduler");
        double mu = VisualGen.Schedulers.FlowSigmas.CalculateShift(height / 16 * (width / 16), sc.GetInt("base_image_seq_len", 256),
            sc.GetInt("max_image_seq_len", 4096), sc.GetDouble("base_shift", 0.5), sc.GetDouble("max_shift", 1.15));
        var scheduler = VisualGen.Schedulers.SchedulerRegistry.Default.Create(sc, null);
        scheduler.SetTimesteps(steps, mu, VisualGen.Schedulers.FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
        return scheduler;
    }

    /// <summary>One FluxPipeline transformer call as a host loop makes it: packed latents of a
    /// <paramref name="height"/>×<paramref name="width"/> image at <paramref name="timestep"/> (divided by 1000, as the
    /// pipeline passes it), the guidance embedding where the model has one.</summary>
    public static float[] Predict(IEngine transformer, VisualGen.Pipelines.Flux.FluxModelConfig config, (HostTensor Pooled, HostTensor PromptEmbeds) text,
        float[] latents, double timestep, int height, int width, double guidance)
    {
        var inputs = new Dictionary<string, HostTensor>
        {
            // the packed latents, or FLUX.1 Fill's wider per-token input
            ["hidden_states"] = HostTensor.Float32(latents, 1, height / 16 * (width / 16), latents.Length / (height / 16 * (width / 16))),
            ["timestep"] = HostTensor.Float32([(float)timestep / 1000f], 1),
            ["encoder_hidden_states"] = text.PromptEmbeds,
            ["pooled_projections"] = text.Pooled,
            ["img_ids"] = VisualGen.Pipelines.Flux.FluxLatents.ImageIds(height / 16, width / 16),
            ["txt_ids"] = VisualGen.Pipelines.Flux.FluxLatents.TextIds(text.PromptEmbeds.Shape[1]),
        };
        if (config.GuidanceEmbeds) inputs["guidance"] = HostTensor.Float32([(float)guidance], 1);
        return transformer.Run(inputs)["sample"].Floats;
    }
}
