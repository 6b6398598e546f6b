using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;
using VisualGen.Pipelines.QwenImage;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;

/// <summary>
/// <c>visualgen-bench components FIXTURE CACHE</c>: every component of a conformance fixture that the native CUDA engine
/// runs (<see cref="Runtime.NativeClasses"/>), through the same engine provider and pipeline parts as <c>generate
/// --engine native-cuda</c>, against its float32 diffusers golden: UMT5/T5 text encoders, FLUX.1's CLIP text model (pooled
/// output), Qwen-Image's Qwen2.5-VL text model (raw hidden states of the prompt; the negative prompt with the template's
/// states dropped), FLUX.2's Mistral3 (layers stacked), the CLIP image encoder, the Wan-family VAE decoder and encoder,
/// FLUX.1's AutoencoderKL and FLUX.2's AutoencoderKLFlux2 decoder and encoder, and FLUX.2's and LTX-2's transformers on
/// their golden forward, Cosmos3's transformer against the same graph on ONNX Runtime CPU (its fixtures hold no transformer
/// output).
/// One table row per component; the bar is cosine ≥ 0.999.
/// </summary>
static class ComponentCheck
{
    public static int Run(string fixture, string cacheDir)
    {
        string model = Path.Combine(fixture, "checkpoint");
        string fam = Path.GetFileName(fixture.TrimEnd('/'));
        if (!File.Exists(Path.Combine(model, "model_index.json"))) return 0;   // a component fixture (quant_ops, a quantized transformer): not a pipeline
        var index = ModelIndex.Load(model);
        using var golden = SafeTensorsFile.Open(Path.Combine(fixture, "golden.safetensors"));
        using var provider = Runtime.CreateEngineProvider(cacheDir, "native-cuda", null);
        bool Has(string n) => golden.Names.Contains(n);
        HostTensor G(string n) => HostTensor.FromSource(golden, n);
        string? ClassOf(string folder) => index.Components.TryGetValue(folder, out var c) && c.IsPresent ? c.ClassName : null;
        bool Native(string folder) => ClassOf(folder) is { } cls && Runtime.NativeClasses.ContainsKey(cls);
        int status = 0;
        void Row(string what, HostTensor expected, Func<HostTensor> run)
        {
            try
            {
                var clock = Stopwatch.StartNew();
                var got = run();
                double secs = clock.Elapsed.TotalSeconds;
                var (cos, max, rel) = Similarity.Compare(expected.Floats, got.Floats);
                bool ok = cos >= 0.999 && got.Shape.SequenceEqual(expected.Shape);
                if (!ok) status = 1;
                Console.WriteLine($"| {fam} | {what} | {(ok ? "ok" : "FAIL")} | cos {cos:F6}, rel L2 {rel:E2}, max abs {max:E2} | {secs:F2} s |");
            }
            catch (Exception e)
            {
                status = 1;
                Console.WriteLine($"| {fam} | {what} | FAILED | {e.GetType().Name}: {e.Message.Split('\n')[0][..Math.Min(200, e.Message.Split('\n')[0].Length)]} | |");
            }
        }
        IEngine E(string component) => provider.GetEngine(model, component, null);

        foreach (var (folder, tok, expectedName) in new[] { ("text_encoder", "tokenizer", "text_encoder.raw_last_hidden_state"), ("text_encoder_2", "tokenizer_2", "text_encoder_2.prompt_embeds") })
        {
            if (!Native(folder) || !Has(expectedName) || !Has($"{tok}.prompt.input_ids")) continue;
            var ids = G($"{tok}.prompt.input_ids");
            var mask = Has($"{tok}.prompt.attention_mask") ? G($"{tok}.prompt.attention_mask") : HostTensor.Int64(Enumerable.Repeat(1L, (int)ids.ElementCount).ToArray(), ids.Shape);
            Row($"{folder} ({ClassOf(folder)})", G(expectedName), () =>
                E(folder).Run(new Dictionary<string, HostTensor> { ["input_ids"] = ids, ["attention_mask"] = mask })["last_hidden_state"]);
        }
        // Qwen-Image: the negative prompt (another length, another plan) as the pipeline keeps it, the template's states dropped
        if (ClassOf("text_encoder") == "Qwen2_5_VLForConditionalGeneration" && Native("text_encoder") && Has("text_encoder.negative_prompt_embeds") && Has("tokenizer.negative.input_ids"))
            Row("text_encoder (Qwen2_5_VLForConditionalGeneration, negative, template dropped)", G("text_encoder.negative_prompt_embeds"), () =>
                QwenImagePromptEmbeds.FromHiddenStates(E("text_encoder").Run(new Dictionary<string, HostTensor>
                {
                    ["input_ids"] = G("tokenizer.negative.input_ids"), ["attention_mask"] = G("tokenizer.negative.attention_mask"),
                })["last_hidden_state"], maxSequenceLength: 512));
        // FLUX.2's Mistral3: hidden states of layers 10/20/30 stacked, over the prompt padded to max_sequence_length
        bool mistral = ClassOf("text_encoder") == "Mistral3ForConditionalGeneration";
        if (mistral && Native("text_encoder") && Has("text_encoder.prompt_embeds") && Has("tokenizer.prompt.attention_mask"))
            Row("text_encoder (Mistral3ForConditionalGeneration, layers stacked)", G("text_encoder.prompt_embeds"), () =>
                E("text_encoder").Run(new Dictionary<string, HostTensor>
                {
                    ["input_ids"] = G("tokenizer.prompt.input_ids"), ["attention_mask"] = G("tokenizer.prompt.attention_mask"),
                })["prompt_embeds"]);
        if (!mistral && Native("text_encoder") && !Has("text_encoder.raw_last_hidden_state") && Has("text_encoder.prompt_embeds") && Has("tokenizer.prompt.attention_mask"))
        {
            var ids = G("tokenizer.prompt.input_ids"); var mask = G("tokenizer.prompt.attention_mask");
            Row($"text_encoder ({ClassOf("text_encoder")}, padding zeroed)", G("text_encoder.prompt_embeds"), () => WanPromptEmbeds.ZeroPastPromptLength(
                E("text_encoder").Run(new Dictionary<string, HostTensor> { ["input_ids"] = ids, ["attention_mask"] = mask })["last_hidden_state"], mask));
        }
        // FLUX.1's CLIP text model: the pooled output (the hidden state at the EOS position) is what the pipeline uses
        if (ClassOf("text_encoder") == "CLIPTextModel" && Native("text_encoder") && Has("text_encoder.pooled_prompt_embeds") && Has("tokenizer.prompt.input_ids"))
            Row("text_encoder (CLIPTextModel, pooled)", G("text_encoder.pooled_prompt_embeds"), () =>
                E("text_encoder").Run(new Dictionary<string, HostTensor> { ["input_ids"] = G("tokenizer.prompt.input_ids") })["pooler_output"]);
        if (Native("image_encoder") && Has("image_encoder.in"))
            Row($"image_encoder ({ClassOf("image_encoder")})", G("image_encoder.out"), () =>
                E("image_encoder").Run(new Dictionary<string, HostTensor> { ["pixel_values"] = G("image_encoder.in") })["hidden_state"]);
        if (ClassOf("vae") == "AutoencoderKL" && Native("vae") && Has("vae.decode.in"))
        {
            // one graph per direction (no temporal chunks): latents as the pipeline hands them, the latent mean back
            Row("vae decode (AutoencoderKL)", G("vae.decode.out"), () =>
                E("vae.decoder").Run(new Dictionary<string, HostTensor> { ["latents"] = G("vae.decode.in") })["sample"]);
            if (Has("vae.encode.in"))
                Row("vae encode (AutoencoderKL)", G("vae.encode.out_mean"), () =>
                    E("vae.encoder").Run(new Dictionary<string, HostTensor> { ["image"] = G("vae.encode.in") })["latent_mean"]);
        }
        else if (ClassOf("vae") == "AutoencoderKLFlux2" && Native("vae") && Has("vae.decode.in.arg0"))
        {
            // the decoder's input after the pipeline's batch-norm de-normalization and unpatchify
            Row("vae decode (AutoencoderKLFlux2)", G("vae.decode.out"), () =>
                E("vae.decoder").Run(new Dictionary<string, HostTensor> { ["latents"] = G("vae.decode.in.arg0") })["sample"]);
            if (Has("vae.encode.in"))
                Row("vae encode (AutoencoderKLFlux2)", G("vae.encode.out_mean"), () =>
                    E("vae.encoder").Run(new Dictionary<string, HostTensor> { ["image"] = G("vae.encode.in") })["latent_mean"]);
        }
        else if (Native("vae") && Has("vae.decode.in"))
        {
            Row($"vae decode ({ClassOf("vae")})", G("vae.decode.out"), () =>
                new WanVaeDecoder(E("vae.decoder_first"), E("vae.decoder_next")).Decode(G("vae.decode.in")));
            Row($"vae encode ({ClassOf("vae")})", G("vae.encode.out_mean"), () =>
                new WanVaeEncoder(E("vae.encoder_first"), E("vae.encoder_next")).Encode(G("vae.encode.in")));
        }
        // the transformers of the newer families on their one golden forward (the others are checked through the pipeline)
        if (ClassOf("transformer") == "Flux2Transformer2DModel" && Native("transformer") && Has("transformer.out"))
        {
            // the pipeline passes ids [batch, tokens, 4] as int64; the transformer reads the first batch entry's, as floats
            HostTensor Ids(string name)
            {
                var ids = G($"transformer.in.{name}");
                return HostTensor.Float32(ids.Longs.Select(v => (float)v).ToArray(), ids.Shape[1], ids.Shape[2]);
            }
            Row("transformer (Flux2Transformer2DModel)", G("transformer.out"), () => E("transformer").Run(new Dictionary<string, HostTensor>
            {
                ["hidden_states"] = G("transformer.in.hidden_states"), ["encoder_hidden_states"] = G("transformer.in.encoder_hidden_states"),
                ["timestep"] = G("transformer.in.timestep"), ["guidance"] = G("transformer.in.guidance"), ["img_ids"] = Ids("img_ids"), ["txt_ids"] = Ids("txt_ids"),
            })["sample"]);
        }
        if (ClassOf("transformer") == "LTX2VideoTransformer3DModel" && Native("transformer") && Has("transformer.out0"))
        {
            // the default call (use_cross_timestep), both streams from one forward
            var forward = new Lazy<IReadOnlyDictionary<string, HostTensor>>(() => E("transformer").Run(new[]
                {
                    "hidden_states", "audio_hidden_states", "encoder_hidden_states", "audio_encoder_hidden_states", "timestep", "sigma",
                    "encoder_attention_mask", "audio_encoder_attention_mask", "video_coords", "audio_coords",
                }.ToDictionary(n => n, n => G($"transformer.in.{n}"))));
            Row("transformer (LTX2VideoTransformer3DModel, video)", G("transformer.out0"), () => forward.Value["sample"]);
            Row("transformer (LTX2VideoTransformer3DModel, audio)", G("transformer.out1"), () => forward.Value["audio_sample"]);
        }
        if (ClassOf("transformer") == "Cosmos3OmniTransformer" && Native("transformer") && Has("transformer.in.input_ids") && Has("pipeline.latents_init"))
            Cosmos3Transformer(model, fixture, cacheDir, index, G, E, (what, expected, run) => Row(what, expected, run), () => status = 1, fam);
        return status;
    }

    /// <summary>Cosmos3's fixtures hold the transformer's inputs but not its output: the reference is the same graph on
    /// ONNX Runtime CPU (which the test suite holds to diffusers' float32 goldens), on the first step's conditional
    /// inputs as the pipeline builds them (the golden token ids, the packed initial latents, the first timestep).</summary>
    static void Cosmos3Transformer(string model, string fixture, string cacheDir, ModelIndex index, Func<string, HostTensor> G,
        Func<string, IEngine> E, Action<string, HostTensor, Func<HostTensor>> row, Action fail, string fam)
    {
        const string what = "transformer (Cosmos3OmniTransformer, vs ONNX Runtime CPU)";
        try
        {
            using var call = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture, "golden.json")));
            var args = call.RootElement.GetProperty("call");
            double fps = args.TryGetProperty("fps", out var f) ? f.GetDouble() : 24.0;
            var conditionFrames = args.TryGetProperty("image", out _) ? new HashSet<int> { 0 } : new HashSet<int>();
            var config = VisualGen.Pipelines.Cosmos3.Cosmos3ModelConfig.Load(index);
            var latents = G("pipeline.latents_init");
            var grid = new VisualGen.Pipelines.Cosmos3.Cosmos3Patchify(config.LatentChannels, (int)latents.Shape[2], (int)latents.Shape[3], (int)latents.Shape[4], config.PatchSize);
            var ids = G("transformer.in.input_ids").Longs.Select(i => (int)i).ToList();
            var sequence = VisualGen.Pipelines.Cosmos3.Cosmos3Sequence.Build(config, ids, grid, fps, conditionFrames);
            var inputs = new Dictionary<string, HostTensor>
            {
                ["input_ids"] = HostTensor.Int64(sequence.InputIds, sequence.TextLength),
                ["position_ids"] = HostTensor.Float32(sequence.PositionIds, 3, sequence.SequenceLength),
                ["noisy_tokens"] = HostTensor.Float32(sequence.NoisyTokens, sequence.NoisyTokens.Length),
                ["hidden_states"] = HostTensor.Float32(grid.Pack(latents.Floats), grid.Tokens, grid.Features),
                ["timestep"] = HostTensor.Float32([G("scheduler.timesteps").Floats[0]], 1),
            };
            using var cpu = Runtime.CreateEngineProvider(cacheDir + "-ort-cpu", "ort-cpu", null);
            var expected = cpu.GetEngine(model, "transformer", null).Run(inputs)["sample"];
            row(what, expected, () => E("transformer").Run(inputs)["sample"]);
        }
        catch (Exception e)
        {
            fail();
            Console.WriteLine($"| {fam} | {what} | FAILED | {e.GetType().Name}: {e.Message.Split('\n')[0]} | |");
        }
    }
}
