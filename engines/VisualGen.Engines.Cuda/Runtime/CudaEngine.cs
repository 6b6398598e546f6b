using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Tensors;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// The native CUDA engine: a fused graph with its weights on the device. Each new set of input shapes is planned
/// once (folding, kernels, memory) and, with <see cref="UseCudaGraphs"/>, captured into a CUDA graph on its first
/// run and replayed after. Host inputs/outputs are float32.
/// </summary>
public sealed class CudaEngine : IResidentEngine
{
    readonly OpGraph _graph;
    readonly EngineResources _res;
    readonly PlanCache<ShapePlan> _plans = new(p => p.MemoryReport.Planned);
    bool _disposed;

    public EngineManifest Manifest { get; }
    /// <summary>Device memory the shape plans of this engine may hold together; least recently used plans are freed
    /// beyond it (default 16 GiB).</summary>
    public long PlanMemoryLimit { get => _plans.MaxBytes; set => _plans.MaxBytes = value; }
    /// <summary>Capture one CUDA graph per input shape and replay it (default on).</summary>
    public bool UseCudaGraphs { get; set; } = true;
    /// <summary>Time cuDNN's attention candidates when a shape's attention plan is made, keep the fastest (default off:
    /// cuDNN's own choice measured as fast).</summary>
    public bool TuneAttention { get => _res.TuneAttention; set => _res.TuneAttention = value; }
    /// <summary>Per attention plan made: key, chosen kernel, every candidate's time.</summary>
    public IReadOnlyList<string> AttentionLog => _res.AttentionLog;
    /// <summary>Quantized linears that run another way than their scheme's usual path on this GPU, and why.</summary>
    public IReadOnlyList<string> QuantLog => _res.QuantLog;
    /// <summary>Self-attention in bf16 or FP8 (fixed when the engine is loaded).</summary>
    public AttentionPrecision Attention => _res.Attention;
    public double LoadSeconds { get; }
    /// <summary>Packed weights, the bf16 copies of convolution kernels made for bf16 activations, the buffers of the
    /// shape plans made so far, and the largest of their needs in the device's shared arena (<see cref="DeviceArena"/>;
    /// <see cref="SharedDeviceBytes"/>: engines loaded together count it once, <see cref="IEngine.HeldTogether"/>).</summary>
    public long DeviceBytes => (long)WeightBytes + _res.ConvertedWeightBytes + _plans.Plans.Sum(p => p.OwnBytes) + SharedDeviceBytes;
    /// <summary>The largest need of this engine's plans in the device's shared arena (part of <see cref="DeviceBytes"/>).</summary>
    public long SharedDeviceBytes => _plans.Plans.Select(p => p.ArenaBytes).DefaultIfEmpty(0).Max();
    /// <summary>What the device's pool of resident tensors holds (<see cref="TensorPool.HeldBytes"/>), shared by the
    /// engines of the device.</summary>
    public long TensorDeviceBytes => _res.Tensors.HeldBytes;
    public double WeightBytes { get; }

    internal CudaEngine(OpGraph graph, Dictionary<string, byte[]> algorithms, EngineManifest manifest, long bf16MinRows = 64, int device = 0,
        AttentionPrecision attention = AttentionPrecision.Bf16, bool sageCrossAttention = false, bool fp8FastAccumulation = true,
        bool nvfp4WeightOnly = false, VisualGen.Quantization.SageScaleBlocks? sageBlocks = null, bool fp8RowActivations = true,
        bool fp8GeluEpilogue = true, bool fp8CrossAttention = true, IProgress<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        _graph = graph;
        Manifest = manifest;
        _res = new EngineResources(device) { Bf16MinRows = bf16MinRows, Attention = attention, SageCrossAttention = sageCrossAttention, Fp8FastAccumulation = fp8FastAccumulation,
            Nvfp4WeightOnly = nvfp4WeightOnly, SageBlocks = sageBlocks ?? VisualGen.Quantization.SageScaleBlocks.Default,
            Fp8RowActivations = fp8RowActivations, Fp8GeluEpilogue = fp8GeluEpilogue, Fp8CrossAttention = fp8CrossAttention, Log = log };
        try
        {
            foreach (var kv in algorithms) _res.Algorithms[kv.Key] = kv.Value;
            // device weights: packed bf16 GEMM/embedding tables, fp32 convolution kernels, quantized linears' codes
            // each is read through a memory map of weights.bin or the referenced checkpoint, straight into the upload
            var packed = graph.Constants.Values.Where(c => Planning.EncoderFusion.IsDeviceWeight(c.Name))
                .Select(c => (c.Name, c.Count * c.DType.SizeOf(), c)).ToList();
            WeightBytes = packed.Sum(p => p.Item2);
            _res.UploadWeights(packed);
        }
        catch
        {
            _res.Dispose();
            throw;
        }
        LoadSeconds = clock.Elapsed.TotalSeconds;
    }

    internal IReadOnlyDictionary<string, byte[]> Algorithms => _res.Algorithms;

    static string Key(IReadOnlyDictionary<string, long[]> shapes) =>
        string.Join(";", shapes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + string.Join("x", kv.Value)));

    /// <summary>The values of plan-time inputs last run with each shape key (what shape-only calls such as
    /// <see cref="TimeForward"/> plan with).</summary>
    readonly Dictionary<string, IReadOnlyDictionary<string, HostTensor>> _planTimeValues = new(StringComparer.Ordinal);

    /// <summary>Inputs whose values are read when a shape is planned (position ids): a new value is a new plan.</summary>
    public IEnumerable<string> PlanTimeInputs => _graph.Inputs.Where(i => i.PlanTime).Select(i => i.Name);

    static string ValuesKey(IReadOnlyDictionary<string, HostTensor> values)
    {
        if (values.Count == 0) return "";
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var (name, t) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name + ":" + t.DType + ":"));
            if (t.DType == TensorDType.I64) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Longs.AsSpan()));
            else sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Floats.AsSpan()));
        }
        return "|" + Convert.ToHexString(sha.GetHashAndReset());
    }

    ShapePlan PlanFor(IReadOnlyDictionary<string, long[]> shapes, IReadOnlyDictionary<string, HostTensor>? planTimeValues = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string shapeKey = Key(shapes);
        if (planTimeValues is null && !_planTimeValues.TryGetValue(shapeKey, out planTimeValues))
        {
            if (PlanTimeInputs.Any())
                throw new EngineException($"engine '{Manifest.Component}': inputs {string.Join(", ", PlanTimeInputs)} are read when a shape is planned; run it once with these shapes first");
            planTimeValues = new Dictionary<string, HostTensor>();
        }
        _planTimeValues[shapeKey] = planTimeValues;
        string key = shapeKey + ValuesKey(planTimeValues);
        if (_plans.TryGet(key, out var p)) return p;
        var clock = Stopwatch.StartNew();
        p = ShapePlanner.Plan(_graph, _res, shapes, planTimeValues);
        p.PlanSeconds = clock.Elapsed.TotalSeconds;
        _plans.Add(key, p);
        return p;
    }

    /// <summary>Describes the plan of one input shape (steps per kernel class, memory), planning it if needed.</summary>
    public string Describe(IReadOnlyDictionary<string, long[]> shapes)
    {
        var p = PlanFor(shapes);
        var counts = p.Steps.GroupBy(s => s.Kind).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
        return $"{p.Steps.Count} steps ({string.Join(", ", counts)}); activations {p.MemoryReport.Planned / 1e6:F1} MB planned " +
               $"vs {p.MemoryReport.Naive / 1e6:F1} MB unshared; planned in {p.PlanSeconds:F2} s";
    }

    /// <summary>Checks the inputs against the graph's (every one given, none unknown, dtypes) and splits them into the
    /// shapes to plan and the plan-time values, read on the host. Host and resident runs share it.</summary>
    (Dictionary<string, long[]> Shapes, Dictionary<string, HostTensor> PlanTime) ReadInputs<T>(IReadOnlyDictionary<string, T> inputs,
        Func<T, long[]> shapeOf, Func<T, TensorDType> dtypeOf, Func<T, HostTensor> toHost, Action<OpPort, T>? check = null)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var planTime = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var i in _graph.Inputs)
        {
            if (!inputs.TryGetValue(i.Name, out var t)) throw new EngineException($"engine '{Manifest.Component}' needs input '{i.Name}'; got {string.Join(", ", inputs.Keys)}");
            if (i.PlanTime)
            {
                var h = toHost(t);
                if (h.DType is not (TensorDType.F32 or TensorDType.I64)) throw new EngineException($"input '{i.Name}' is {h.DType}; the native CUDA engine reads it as float32 or int64");
                planTime[i.Name] = h;
            }
            else
            {
                check?.Invoke(i, t);
                if (dtypeOf(t) != i.DType) throw new EngineException($"input '{i.Name}' is {dtypeOf(t)}; engine '{Manifest.Component}' takes {i.DType}");
            }
            shapes[i.Name] = shapeOf(t);
        }
        foreach (var k in inputs.Keys)
            if (!_graph.Inputs.Any(i => i.Name == k)) throw new EngineException($"engine '{Manifest.Component}' has no input '{k}' (inputs: {string.Join(", ", _graph.Inputs.Select(i => i.Name))})");
        return (shapes, planTime);
    }

    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => Run(inputs, null);

    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyCollection<string>? outputs)
    {
        var (shapes, planTime) = ReadInputs(inputs, t => t.Shape, t => t.DType, t => t);
        var p = PlanFor(shapes, planTime);
        using var lease = Hold(p);
        var stream = _res.Stream;
        foreach (var (name, v) in p.Inputs)
            unsafe
            {
                var t = inputs[name];
                if (t.DType == TensorDType.I64)
                    fixed (long* src = t.Longs)
                        Check(vg_memcpy_async(v.Ptr, (IntPtr)src, (nuint)v.Bytes, 0, stream.Ptr), $"upload of input '{name}'");
                else
                    fixed (float* src = t.Floats)
                        Check(vg_memcpy_async(v.Ptr, (IntPtr)src, (nuint)v.Bytes, 0, stream.Ptr), $"upload of input '{name}'");
            }
        Forward(p);
        var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var (name, v) in p.Outputs)
        {
            if (outputs is not null && !outputs.Contains(name)) continue;
            var data = new float[v.Count];
            unsafe
            {
                fixed (float* dst = data)
                    Check(vg_memcpy_async((IntPtr)dst, v.Ptr, (nuint)v.Bytes, 1, stream.Ptr), $"download of output '{name}'");
            }
            stream.Synchronize();
            result[name] = Integral(name) ? HostTensor.Int64(AsLongs(data), v.Shape) : HostTensor.Float32(data, v.Shape);
        }
        return result;
    }

    /// <summary>An int64 graph output (LTX-2's connectors' mask): the plan computes it in float32 (exact integers below
    /// 2^24), the caller gets it as the graph declares it.</summary>
    bool Integral(string output) => _graph.Outputs.Any(o => o.Name == output && o.DType == TensorDType.I64);

    static long[] AsLongs(float[] data) => Array.ConvertAll(data, f => (long)MathF.Round(f));

    public IEngineTensor Upload(HostTensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return CudaTensor.FromHost(tensor, _res.Stream, _res.Tensors);
    }

    public ITensorArithmetic Arithmetic => CudaArithmetic.Instance;

    public bool ReadsOnHost(string input) => _graph.Inputs.Any(i => i.PlanTime && i.Name == input);

    /// <summary>Runs on device tensors: inputs are copied device to device into the plan's input buffers (the captured
    /// CUDA graph reads fixed addresses), outputs into new device tensors the caller owns; nothing crosses to the host
    /// except plan-time inputs, which are read there.</summary>
    public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs) => RunResident(inputs, []);

    /// <summary><see cref="RunResident(IReadOnlyDictionary{string, IEngineTensor})"/>; the <paramref name="consumed"/>
    /// inputs are disposed once copied into the plan's buffers, so their memory can hold this run's outputs.</summary>
    public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs, IReadOnlyCollection<string> consumed)
    {
        bool disposed = false;
        void DisposeConsumed()
        {
            if (disposed) return;
            disposed = true;
            foreach (var name in consumed) if (inputs.TryGetValue(name, out var t)) t.Dispose();
        }
        try
        {
            var (shapes, planTime) = ReadInputs(inputs, t => t.Shape, t => t.DType, t => t.ToHost(), (i, t) =>
            {
                if (t is not CudaTensor) throw new EngineException($"input '{i.Name}' of engine '{Manifest.Component}' is not a CUDA device tensor ({t.GetType().Name})");
            });
            var p = PlanFor(shapes, planTime);
            using var lease = Hold(p);
            var stream = _res.Stream;
            foreach (var (name, v) in p.Inputs)
                Check(vg_memcpy_async(v.Ptr, ((CudaTensor)inputs[name]).Ptr, (nuint)v.Bytes, 2, stream.Ptr), $"copy of input '{name}'");
            if (consumed.Count > 0)
            {
                // the copies must finish before the memory goes back to the pool shared with other engines' streams
                stream.Synchronize();
                DisposeConsumed();
            }
            return RunPlanned(p);
        }
        finally { DisposeConsumed(); }
    }

    IReadOnlyDictionary<string, IEngineTensor> RunPlanned(ShapePlan p)
    {
        var stream = _res.Stream;
        Forward(p);
        var result = new Dictionary<string, IEngineTensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, v) in p.Outputs.Where(o => !Integral(o.Key)))
            {
                var o = new CudaTensor(v.Shape, TensorDType.F32, _res.Tensors);
                result[name] = o;
                Check(vg_memcpy_async(o.Ptr, v.Ptr, (nuint)v.Bytes, 2, stream.Ptr), $"copy of output '{name}'");
            }
            stream.Synchronize();
            // int64 outputs (small masks) through the host: the device copies are float32 only
            foreach (var (name, v) in p.Outputs.Where(o => Integral(o.Key)))
                unsafe
                {
                    var data = new float[v.Count];
                    fixed (float* dst = data) Check(vg_memcpy_async((IntPtr)dst, v.Ptr, (nuint)v.Bytes, 1, stream.Ptr), $"download of output '{name}'");
                    stream.Synchronize();
                    result[name] = CudaTensor.FromHost(HostTensor.Int64(AsLongs(data), v.Shape), stream, _res.Tensors);
                }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Holds the device's arena for one run of <paramref name="p"/> (runs of other engines wait) and binds the plan
    /// to it. The run must end with its work finished (stream synchronized) before the lease is disposed.</summary>
    DeviceArena.Lease Hold(ShapePlan p)
    {
        var lease = _res.Arena.Use(p.ArenaBytes);
        try { p.Bind(lease.Ptr, lease.Generation); }
        catch { lease.Dispose(); throw; }
        return lease;
    }

    void Forward(ShapePlan p)
    {
        var s = _res.Stream.Ptr;
        if (!UseCudaGraphs) { p.RunSteps(s); return; }
        if (p.Graph is null)
        {
            Check(vg_graph_capture_begin(s), "CUDA graph capture");
            try { p.RunSteps(s); }
            catch
            {
                vg_graph_capture_end(s, out var broken);
                if (broken != IntPtr.Zero) vg_graph_destroy(broken);
                throw;
            }
            Check(vg_graph_capture_end(s, out var g), "CUDA graph capture");
            p.Graph = new CudaGraphHandle(g);
        }
        Check(vg_graph_launch(p.Graph.Ptr, s), "CUDA graph launch");
    }

    /// <summary>Median milliseconds of one forward on the device (inputs already uploaded by a <see cref="Run"/> of the same shapes).</summary>
    public double TimeForward(IReadOnlyDictionary<string, long[]> shapes, int warmup, int iterations, bool cudaGraphs)
    {
        var p = PlanFor(shapes);
        using var lease = Hold(p);
        bool saved = UseCudaGraphs;
        UseCudaGraphs = cudaGraphs;
        try
        {
            using var a = EventHandle.Create();
            using var b = EventHandle.Create();
            for (int i = 0; i < warmup; i++) Forward(p);
            _res.Stream.Synchronize();
            var times = new List<double>();
            for (int i = 0; i < iterations; i++)
            {
                a.Record(_res.Stream); Forward(p); b.Record(_res.Stream);
                times.Add(b.ElapsedSince(a));
            }
            times.Sort();
            return times[times.Count / 2];
        }
        finally { UseCudaGraphs = saved; }
    }

    /// <summary>Milliseconds per kernel class of one forward (events between steps, no graph).</summary>
    public Dictionary<KernelClass, double> ProfileClasses(IReadOnlyDictionary<string, long[]> shapes)
    {
        var r = Enum.GetValues<KernelClass>().ToDictionary(k => k, _ => 0.0);
        foreach (var (_, kind, _, ms) in ProfileSteps(shapes)) r[kind] += ms;
        return r;
    }

    /// <summary>Milliseconds of every step of one forward (events between steps, no graph): name, class, detail
    /// (attention: the plan key), ms.</summary>
    public List<(string Name, KernelClass Kind, string? Detail, double Ms)> ProfileSteps(IReadOnlyDictionary<string, long[]> shapes)
    {
        var p = PlanFor(shapes);
        using var lease = Hold(p);
        var events = Enumerable.Range(0, p.Steps.Count + 1).Select(_ => EventHandle.Create()).ToList();
        try
        {
            var s = _res.Stream;
            events[0].Record(s);
            for (int i = 0; i < p.Steps.Count; i++) { p.Steps[i].Run(s.Ptr); events[i + 1].Record(s); }
            s.Synchronize();
            return p.Steps.Select((st, i) => (st.Name, st.Kind, st.Detail, (double)events[i + 1].ElapsedSince(events[i]))).ToList();
        }
        finally { foreach (var e in events) e.Dispose(); }
    }

    /// <summary>Disposes every shape plan and attention plan (the next run plans again; with <see cref="TuneAttention"/>
    /// on, attention is tuned again).</summary>
    public void ReleasePlans()
    {
        _plans.Clear();
        _res.ReleaseAttentionPlans();
    }

    /// <summary>FLOPs of GEMMs (2·M·N·K) and attention (4·B·H·Sq·Skv·D) in one forward of these shapes.</summary>
    public (double Gemm, double Attention) Flops(IReadOnlyDictionary<string, long[]> shapes)
    {
        var p = PlanFor(shapes);
        double gemm = p.Gemms.Sum(g => 2.0 * g.A.Count * g.Out.Shape[^1]) + p.QuantGemmFlops;
        return (gemm, p.AttentionFlops);
    }

    /// <summary>Plans <paramref name="shapes"/>, runs one forward and tunes the GEMM algorithms of that plan. The forward
    /// runs on <paramref name="inputs"/> when given (needed when the graph has plan-time inputs), else on random ones.</summary>
    public List<string> Tune(IReadOnlyDictionary<string, long[]> shapes, IReadOnlyDictionary<string, HostTensor>? inputs = null)
    {
        var rng = new Random(1234);
        inputs ??= shapes.ToDictionary(kv => kv.Key, kv =>
        {
            var d = new float[kv.Value.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < d.Length; i++) d[i] = (float)(rng.NextDouble() * 2 - 1);
            return HostTensor.Float32(d, kv.Value);
        });
        bool saved = UseCudaGraphs;
        UseCudaGraphs = false;
        try { Run(inputs); } finally { UseCudaGraphs = saved; }
        var tuned = PlanFor(shapes);
        List<string> lines;
        using (Hold(tuned)) lines = _res.TuneGemms(tuned);
        // plans hold the old algorithm choices' workspace sizes: plan again with the tuned algorithms
        _plans.Clear();
        return lines;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _plans.Clear();
        _res.Dispose();
    }
}
