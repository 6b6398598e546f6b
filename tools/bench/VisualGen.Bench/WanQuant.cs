using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Commands;
using VisualGen.Exporter.Export;
using VisualGen.Quantization;
using VisualGen.Tensors;

/// <summary>
/// <c>visualgen-bench wan-quant MODEL IO CACHE [VARIANTS]</c>: the Wan 2.1 1.3B CFG forward (batch 2) at 480×832×81 with
/// quantized linears and quantized attention (issue 13's ≤ 576 ms target), on the io/inputs_480.safetensors of
/// tools/bench/wan_peer.py make. VARIANTS is a comma list of LINEARS/ATTENTION (linears: bf16 | fp8 | fp8_block |
/// nvfp4, quantized dynamically from the bf16 checkpoint at build; fp8+promoted: FP8 without the fast accumulation,
/// fp8+tensor: activations scaled per tensor instead of per row, fp8+tensor+promoted both; attention: an <see cref="AttentionPrecision"/> or sage:QxK (Sage scale blocks), then +cross (Sage cross-attention too)),
/// default "bf16/bf16,bf16/fp8,fp8/bf16,fp8/fp8,nvfp4/bf16". Each variant: its own engine-cache entry (the
/// quantization is part of the key), the CUDA-graph forward time (median of 3 rounds of 3 after a warm-up), its
/// kernel classes, GPU weight memory, and the output's cosine and relative L2 error against the first (bf16)
/// variant on the same inputs and random weights, and against PyTorch's bf16 output when io/ref_480.safetensors is
/// there. One TABLE line per variant.
/// </summary>
static class WanQuant
{
    public static int Run(string model, string io, string cacheDir, string variants)
    {
        var inputs = ReadInputs(Path.Combine(io, "inputs_480.safetensors"));
        var shapes = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        string refPath = Path.Combine(io, "ref_480.safetensors");
        float[]? torchRef = null;
        if (File.Exists(refPath)) using (var f = SafeTensorsFile.Open(refPath)) torchRef = HostTensor.FromSource(f, "sample").Floats;
        float[]? baseline = null;
        var table = new List<string>();
        int status = 0;
        foreach (string variant in variants.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = variant.Split('/');
            // ATTENTION as --attention takes it (bf16, fp8, sage, sage:QxK), then "+cross": Sage attention for the
            // cross-attention too (CudaBackend.SageCrossAttention), or "+bf16cross": cross-attention in bf16, not FP8
            // (CudaBackend.Fp8CrossAttention off)
            string attentionFlag = parts.Length == 2 ? parts[1] : "";
            bool cross = attentionFlag.EndsWith("+cross", StringComparison.OrdinalIgnoreCase);
            if (cross) attentionFlag = attentionFlag[..^"+cross".Length];
            bool bf16Cross = attentionFlag.EndsWith("+bf16cross", StringComparison.OrdinalIgnoreCase);
            if (bf16Cross) attentionFlag = attentionFlag[..^"+bf16cross".Length];
            AttentionPrecision attention;
            SageScaleBlocks sageBlocks;
            try
            {
                if (parts.Length != 2) throw new UsageException("one '/' must part LINEARS from ATTENTION");
                attention = Runtime.Attention(attentionFlag, "native-cuda");
                sageBlocks = Runtime.SageBlocks(attentionFlag);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"wan-quant: variant '{variant}': {e.Message} (a variant is LINEARS/ATTENTION, the attention as --attention takes it, then +cross)");
                return 2;
            }
            // "fp8+promoted": FP8 linears promoting partial sums to fp32 (CudaBackend.Fp8FastAccumulation off);
            // "fp8+tensor": activations with one scale per tensor instead of per row (CudaBackend.Fp8RowActivations off);
            // "fp8+twopass": the FFN up projection's GELU in a quantization pass, not its GEMM's epilogue (CudaBackend.Fp8GeluEpilogue off)
            string linears = parts[0];
            bool Suffix(string s)
            {
                if (!linears.EndsWith(s, StringComparison.OrdinalIgnoreCase)) return false;
                linears = linears[..^s.Length];
                return true;
            }
            bool twoPass = Suffix("+twopass"), promoted = Suffix("+promoted"), tensorScaled = Suffix("+tensor");
            var quant = EndToEnd.Linears(linears, "variant");
            try
            {
                var clock = Stopwatch.StartNew();
                using var provider = new EngineProvider(new EngineCache(cacheDir), new CudaBackend { Attention = attention, SageCrossAttention = cross, SageBlocks = sageBlocks, Fp8FastAccumulation = !promoted, Fp8RowActivations = !tensorScaled, Fp8GeluEpilogue = !twoPass, Fp8CrossAttention = !bf16Cross }, ComponentExporterRegistry.CreateDefault(), new EngineBuildOptions
                {
                    Precision = "bf16",
                    Profiles = inputs.ToDictionary(kv => kv.Key, kv => new ShapeProfile(kv.Value.Shape, kv.Value.Shape, kv.Value.Shape)),
                }) { DynamicQuantization = quant };
                var (eng, report) = provider.Prepare(model, "transformer", new Progress<string>(l => Console.WriteLine("  " + l)));
                var engine = (CudaEngine)eng;
                Console.WriteLine($"{variant}: export+build+load {clock.Elapsed.TotalSeconds:F1} s (cache hit {report.Hit}), weights on the GPU {engine.WeightBytes / 1e9:F2} GB, device total {engine.DeviceBytes / 1e9:F2} GB");
                var output = engine.Run(inputs)["sample"].Floats;
                var ms = Enumerable.Range(0, 3).Select(_ => engine.TimeForward(shapes, 1, 3, true)).Order().ToList();
                var steps = engine.ProfileSteps(shapes);
                var classes = Enum.GetValues<KernelClass>().ToDictionary(k => k, k => steps.Where(x => x.Kind == k).Sum(x => x.Ms));
                // the activation quantization before FP8 GEMMs (counted in the GEMM class), on its own
                double quantize = steps.Where(x => x.Kind == KernelClass.Gemm && x.Name.EndsWith("/quantize", StringComparison.Ordinal)).Sum(x => x.Ms);
                baseline ??= output;
                var (cos, _, rel) = Similarity.Compare(baseline, output);
                string vsTorch = torchRef is null ? "" : $", vs PyTorch bf16 cos {Similarity.Compare(torchRef, output).Cos:F6}";
                Console.WriteLine($"{variant}: {ms[1]:F1} ms with CUDA graphs (rounds {string.Join(", ", ms.Select(x => x.ToString("F1")))}); " +
                                  string.Join(", ", classes.Select(kv => $"{kv.Key} {kv.Value:F1} ms")) + $" (activation quantize {quantize:F1} ms of the GEMMs); vs bf16 cos {cos:F6}, rel L2 {rel:E2}{vsTorch}");
                // where the time goes: steps grouped across the blocks (blocks.N/ → blocks.*/), the 20 largest
                var top = steps.GroupBy(x => System.Text.RegularExpressions.Regex.Replace(x.Name, @"blocks\.\d+/", "blocks.*/"))
                    .Select(gr => (Name: gr.Key, Ms: gr.Sum(x => x.Ms), Kind: gr.First().Kind)).OrderByDescending(x => x.Ms).Take(20);
                Console.WriteLine($"{variant}: top steps (ms per forward, all blocks): " + string.Join("; ", top.Select(x => $"{x.Name} [{x.Kind}] {x.Ms:F1}")));
                table.Add($"ours 480p, linears {parts[0]}, attention {parts[1]} | {ms[1]:F1} | | weights {engine.WeightBytes / 1e9:F2} GB; cos vs bf16 {cos:F5}{vsTorch}; gemm {classes[KernelClass.Gemm]:F0} ms (quantize {quantize:F0}), attention {classes[KernelClass.Attention]:F0} ms, norm+rope {classes[KernelClass.NormRope]:F0} ms, other {classes[KernelClass.Other]:F0} ms");
            }
            catch (Exception e) when (e is EngineException or QuantizationException)
            {
                Console.WriteLine($"{variant}: FAILED: {e.Message}");
                table.Add($"ours 480p, linears {parts[0]}, attention {parts[1]} | failed | | {e.Message.Split('\n')[0]}");
                status = 1;
            }
        }
        File.WriteAllLines(Path.Combine(io, "ours_quant_table.txt"), table);
        foreach (var l in table) Console.WriteLine("TABLE " + l);
        return status;
    }

    static Dictionary<string, HostTensor> ReadInputs(string path)
    {
        using var f = SafeTensorsFile.Open(path);
        return new[] { "hidden_states", "timestep", "encoder_hidden_states" }.ToDictionary(n => n, n => HostTensor.FromSource(f, n));
    }
}
