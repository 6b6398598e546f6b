using Npgsql;
using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server.Replicas;

/// <summary>Servers of one deployment: each its own data folder, all on one PostgreSQL store and one outputs folder.</summary>
public sealed class Deployment(string storeUrl)
{
    public string StoreUrl { get; } = storeUrl;
    public string Outputs { get; } = Fixtures.TempDir("vg-outputs");
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    public ServerOptions Options(int queueSize = 200) => new()
    {
        DataDir = Fixtures.TempDir("vg-replica"),
        Store = StoreUrl,
        OutputsDir = Outputs,
        Lease = Lease,
        QueueSize = queueSize,
    };

    /// <summary>An in-process replica (Kestrel on a free port) running <paramref name="pipeline"/>.</summary>
    public Task<LiveServer> StartAsync(IGenerationPipeline pipeline, int queueSize = 200) => LiveServer.StartAsync(pipeline, Options(queueSize));

    /// <summary>A replica as a child process (to kill it) on the gradient pipeline; requests with <paramref name="heldPrompt"/> never finish there.</summary>
    public Task<ServerProcess> StartProcessAsync(string heldPrompt) =>
        ServerProcess.StartGradientAsync(heldPrompt, "--data", Fixtures.TempDir("vg-replica"), "--store", StoreUrl, "--outputs", Outputs,
            "--lease", $"{Lease.TotalSeconds}s", "--shutdown-grace", "0.5s");

    /// <summary>One value from the store's tables (for what the API does not show: claims per job).</summary>
    public T Query<T>(string sql)
    {
        using var c = new NpgsqlConnection(PostgresCluster.ConnectionString(StoreUrl));
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        return (T)cmd.ExecuteScalar()!;
    }
}

/// <summary>A fact that needs PostgreSQL and ffmpeg (replicas write real MP4s); skipped with the reason where either is missing.</summary>
public sealed class ReplicaFactAttribute : FactAttribute
{
    public ReplicaFactAttribute()
    {
        if (PostgresCluster.FindBinaries() is null)
            Skip = "PostgreSQL server binaries are not installed in /usr/lib/postgresql/*/bin (apt-get install postgresql; .ci/run installs it)";
        else if (VisualGen.Media.Ffmpeg.Find() is null)
            Skip = "ffmpeg is not on PATH (apt-get install ffmpeg)";
    }
}
