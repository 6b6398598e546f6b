using VisualGen.Server.Api;
using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs;
using VisualGen.Server.Jobs.Postgres;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server.Replicas;

/// <summary>Lease-timed tests run alone, not beside the suite's CPU-bound tests: a renewal starved for a lease would
/// read as a lost lease.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LeaseTimedCollection
{
    public const string Name = "lease-timed";
}

/// <summary>One PostgreSQL cluster per test class, started on first use (never where the binaries are missing: those tests are skipped).</summary>
public sealed class PostgresFixture : IDisposable
{
    readonly Lazy<PostgresCluster> _cluster = new(PostgresCluster.Create);

    public PostgresCluster Cluster => _cluster.Value;

    public void Dispose()
    {
        if (_cluster.IsValueCreated) _cluster.Value.Dispose();
    }

    /// <summary>A store on <paramref name="url"/> as one replica opens it, its outputs in <paramref name="outputs"/>.</summary>
    public static PostgresJobStore Open(string url, string outputs, TimeSpan? lease = null) =>
        PostgresJobStore.Open(StoreAddress.Parse(url), new OutputFolder(outputs), ServerApp.Json, new StoreSignals(), lease ?? TimeSpan.FromSeconds(30));

    public static VideoJob NewJob(IJobStore store, string model = "gradient-video", string prompt = "a gradient") => new()
    {
        Id = JobId.New(JobId.VideoPrefix),
        Model = model,
        Spec = new GenerationSpec { Prompt = prompt, Width = 48, Height = 32, NumFrames = 9, NumInferenceSteps = 2, Seed = 7, Fps = 16 },
        Status = JobStatus.Queued,
        CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        Sequence = store.NextSequence(),
    };
}
