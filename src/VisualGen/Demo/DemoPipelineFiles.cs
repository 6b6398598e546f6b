using System.Text.Json.Nodes;

namespace VisualGen.Demo;

/// <summary>The demo's model_index.json (WanPipeline, text-to-video) and scheduler_config.json (UniPC with flow sigmas, as Wan 2.1 ships).</summary>
internal static class DemoPipelineFiles
{
    public static JsonObject ModelIndex() => new()
    {
        ["_class_name"] = "WanPipeline",
        ["_diffusers_version"] = DemoModel.DiffusersVersion,
        ["boundary_ratio"] = null,
        ["expand_timesteps"] = false,
        ["scheduler"] = DemoJson.Component("diffusers", "UniPCMultistepScheduler"),
        ["text_encoder"] = DemoJson.Component("transformers", DemoUmt5Encoder.ClassName),
        ["tokenizer"] = DemoJson.Component("transformers", DemoTokenizer.ClassName),
        ["transformer"] = DemoJson.Component("diffusers", DemoWanTransformer.ClassName),
        ["transformer_2"] = DemoJson.Component(null, null),
        ["vae"] = DemoJson.Component("diffusers", DemoWanVae.ClassName),
    };

    public static JsonObject SchedulerConfig() => new()
    {
        ["_class_name"] = "UniPCMultistepScheduler",
        ["_diffusers_version"] = DemoModel.DiffusersVersion,
        ["beta_end"] = 0.02,
        ["beta_schedule"] = "linear",
        ["beta_start"] = 0.0001,
        ["disable_corrector"] = new JsonArray(),
        ["dynamic_thresholding_ratio"] = 0.995,
        ["final_sigmas_type"] = "zero",
        ["flow_shift"] = 3.0,
        ["lower_order_final"] = true,
        ["num_train_timesteps"] = 1000,
        ["predict_x0"] = true,
        ["prediction_type"] = "flow_prediction",
        ["rescale_betas_zero_snr"] = false,
        ["sample_max_value"] = 1.0,
        ["shift_terminal"] = null,
        ["sigma_max"] = null,
        ["sigma_min"] = null,
        ["solver_order"] = 2,
        ["solver_p"] = null,
        ["solver_type"] = "bh2",
        ["steps_offset"] = 0,
        ["thresholding"] = false,
        ["time_shift_type"] = "exponential",
        ["timestep_spacing"] = "linspace",
        ["trained_betas"] = null,
        ["use_beta_sigmas"] = false,
        ["use_dynamic_shifting"] = false,
        ["use_exponential_sigmas"] = false,
        ["use_flow_sigmas"] = true,
        ["use_karras_sigmas"] = false,
    };
}
