using VisualGen.Server.Api;
using Npgsql;
using VisualGen.Server.Jobs;
using VisualGen.Server.Jobs.Postgres;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server.Replicas;

/// <summary>The PostgreSQL job store against a real server: migrations, claims (SKIP LOCKED), leases, fencing, admission.</summary>
[Collection(LeaseTimedCollection.Name)]
public sealed class PostgresJobStoreTests(PostgresFixture pg) : IClassFixture<PostgresFixture>
{
    static readonly string[] Models = ["gradient-video"];

    [PostgresFact]
    public void Migrations_run_once_and_a_later_start_finds_the_schema_current()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        using (var first = PostgresFixture.Open(url, outputs)) Assert.Equal([1, 2, 3], first.AppliedMigrations);
        using (var second = PostgresFixture.Open(url, outputs)) Assert.Empty(second.AppliedMigrations);
        using var c = new NpgsqlConnection(PostgresCluster.ConnectionString(url));
        c.Open();
        using var cmd = new NpgsqlCommand("SELECT string_agg(version::text, ',' ORDER BY version) FROM visualgen_migrations", c);
        Assert.Equal("1,2,3", cmd.ExecuteScalar());
    }

    [PostgresFact]
    public void A_store_of_schema_version_1_is_upgraded_with_its_jobs_and_a_step_cache_summary_round_trips()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        VideoJob old;
        using (var first = PostgresFixture.Open(url, outputs))
        {
            old = PostgresFixture.NewJob(first);
            Assert.True(first.Add(old, null, 10));
        }
        // the store as a server of schema version 1 left it: no step_cache column nor deleted-jobs table, versions 2 and 3 not recorded
        using (var c = new NpgsqlConnection(PostgresCluster.ConnectionString(url)))
        {
            c.Open();
            using var down = new NpgsqlCommand("ALTER TABLE visualgen_jobs DROP COLUMN step_cache; DROP TABLE visualgen_deleted_jobs; DELETE FROM visualgen_migrations WHERE version >= 2", c);
            down.ExecuteNonQuery();
        }
        using var store = PostgresFixture.Open(url, outputs);
        Assert.Equal([2, 3], store.AppliedMigrations);
        Assert.Equal(old, store.Get(old.Id)!, new JobComparer());
        Assert.Null(store.Get(old.Id)!.StepCache);

        var claim = store.TryClaim(Models, 0)!;
        Assert.Equal(old.Id, claim.Job.Id);
        var summary = new StepCacheSummary("teacache", 4, 6, "1000010101");
        store.Update(old.Id, j => j with { Status = JobStatus.Completed, Progress = 100, StepCache = summary });
        Assert.Equal(summary, store.Get(old.Id)!.StepCache);
    }

    [PostgresFact]
    public void A_row_whose_spec_is_null_is_skipped_by_reads_and_failed_when_claimed()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        using var store = PostgresFixture.Open(url, outputs);
        var skipped = new List<string>();
        store.OnUnreadableRow = (id, why) => skipped.Add($"{id}: {why}");
        VideoJob bad = PostgresFixture.NewJob(store), good = PostgresFixture.NewJob(store);
        Assert.True(store.Add(bad, null, 10));
        Assert.True(store.Add(good, null, 10));
        // edited by hand: valid JSON, not a spec
        using (var c = new NpgsqlConnection(PostgresCluster.ConnectionString(url)))
        {
            c.Open();
            using var edit = new NpgsqlCommand("UPDATE visualgen_jobs SET spec = 'null'::jsonb WHERE id = @id", c);
            edit.Parameters.AddWithValue("id", bad.Id);
            Assert.Equal(1, edit.ExecuteNonQuery());
        }
        Assert.Equal([good.Id], store.List(null, 10, true)!.Value.Page.Select(j => j.Id));
        Assert.Null(store.Get(bad.Id));
        Assert.Equal($"{bad.Id}: its spec is not a generation spec (null, or without a prompt)", skipped[0]);

        // the claim takes the bad row first (it is older), fails it and goes on to the next
        var claim = store.TryClaim(Models, 0);
        Assert.Equal(good.Id, claim?.Job.Id);
        Assert.Equal(1, store.CountByStatus()[JobStatus.Failed]);
        Assert.Null(store.TryClaim(Models, 0));
    }

    [PostgresFact]
    public void A_listing_cursor_deleted_after_it_was_listed_still_marks_its_place()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        using var store = PostgresFixture.Open(url, outputs);
        var jobs = Enumerable.Range(0, 4).Select(_ => PostgresFixture.NewJob(store)).ToList();
        foreach (var j in jobs) Assert.True(store.Add(j, null, 10));
        var first = store.List(null, 2, descending: true)!.Value;
        Assert.Equal([jobs[3].Id, jobs[2].Id], first.Page.Select(j => j.Id));
        Assert.True(store.Delete(jobs[2].Id));   // the cursor goes (a client's delete, retention)
        var next = store.List(jobs[2].Id, 2, descending: true)!.Value;
        Assert.Equal([jobs[1].Id, jobs[0].Id], next.Page.Select(j => j.Id));
        Assert.False(next.HasMore);
        Assert.Equal([jobs[3].Id], store.List(jobs[2].Id, 2, descending: false)!.Value.Page.Select(j => j.Id));
        Assert.Null(store.List("video_" + new string('0', 32), 2, descending: true));   // never listed
    }

    /// <summary>Jobs compared by what is stored (the spec is a record of values).</summary>
    sealed class JobComparer : IEqualityComparer<VideoJob>
    {
        public bool Equals(VideoJob? a, VideoJob? b) => a is not null && b is not null && a.Id == b.Id && a.Spec == b.Spec &&
            a.Status == b.Status && a.Sequence == b.Sequence && a.CreatedAt == b.CreatedAt && a.StepCache == b.StepCache;
        public int GetHashCode(VideoJob j) => j.Id.GetHashCode();
    }

    [PostgresFact]
    public async Task Replicas_claiming_at_once_take_each_job_exactly_once_oldest_first()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        var stores = Enumerable.Range(0, 4).Select(_ => PostgresFixture.Open(url, outputs)).ToList();
        try
        {
            var ids = new List<string>();
            for (int i = 0; i < 60; i++)
            {
                var job = PostgresFixture.NewJob(stores[i % 4]);
                Assert.True(stores[i % 4].Add(job, null, 1000));
                ids.Add(job.Id);
            }
            Assert.Null(stores[0].TryClaim(["another-model"], 0)); // only models a replica serves
            var claims = await Task.WhenAll(stores.Select(s => Task.Run(() =>
            {
                var mine = new List<string>();
                while (s.TryClaim(Models, 0) is { } claim) mine.Add(claim.Job.Id);
                return mine;
            })));
            var all = claims.SelectMany(c => c).ToList();
            Assert.Equal(ids.Count, all.Count);
            Assert.Equal(ids.Order(), all.Order());
            foreach (var mine in claims) Assert.Equal(mine.OrderBy(id => ids.IndexOf(id)), mine); // each replica took them in submission order
            Assert.All(stores[0].List(null, 100, false)!.Value.Page, j => Assert.Equal(JobStatus.InProgress, j.Status));
        }
        finally
        {
            stores.ForEach(s => s.Dispose());
        }
    }

    [PostgresFact]
    public async Task A_lapsed_lease_is_queued_again_and_its_old_owner_can_no_longer_change_the_job()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        using var a = PostgresFixture.Open(url, outputs, TimeSpan.FromSeconds(1));
        using var b = PostgresFixture.Open(url, outputs, TimeSpan.FromSeconds(1));
        var job = PostgresFixture.NewJob(a);
        a.Add(job, null, 10);
        Assert.Equal(job.Id, a.TryClaim(Models, 0)!.Job.Id);
        Assert.NotNull(a.Update(job.Id, j => j with { Progress = 50 }));

        var end = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!b.RequeueExpired().Contains(job.Id))
        {
            Assert.True(DateTime.UtcNow < end, "the lapsed lease was not requeued");
            await Task.Delay(100);
        }
        var requeued = b.Get(job.Id)!;
        Assert.Equal((JobStatus.Queued, 0), (requeued.Status, requeued.Progress));
        Assert.Equal(job.Id, b.TryClaim(Models, 0)!.Job.Id);

        // a's lease is gone: its writes are refused, b's go through
        Assert.Empty(a.RenewLeases([job.Id]));
        Assert.Null(a.Update(job.Id, j => j with { Status = JobStatus.Completed, CompletedAt = 1 }));
        string tmp = a.Outputs.TempVideoPath(job.Id);
        File.WriteAllBytes(tmp, [1, 2, 3]);
        Assert.False(a.CommitVideo(job.Id, tmp));
        Assert.False(File.Exists(tmp));
        Assert.Equal([job.Id], b.RenewLeases([job.Id]));
        Assert.Equal(JobStatus.Completed, b.Update(job.Id, j => j with { Status = JobStatus.Completed, CompletedAt = 1, Progress = 100 })!.Status);
    }

    [PostgresFact]
    public async Task A_renewed_lease_is_never_taken()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        using var a = PostgresFixture.Open(url, outputs, TimeSpan.FromSeconds(2));
        using var b = PostgresFixture.Open(url, outputs, TimeSpan.FromSeconds(2));
        var job = PostgresFixture.NewJob(a);
        a.Add(job, null, 10);
        a.TryClaim(Models, 0);
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(6); // three leases
        while (DateTime.UtcNow < end)
        {
            Assert.Equal([job.Id], a.RenewLeases([job.Id]));
            Assert.Empty(b.RequeueExpired());
            Assert.Null(b.TryClaim(Models, 0));
            await Task.Delay(200);
        }
        Assert.Equal(JobStatus.InProgress, b.Get(job.Id)!.Status);
    }

    [PostgresFact]
    public async Task The_queue_bound_holds_across_replicas_submitting_at_once()
    {
        string url = pg.Cluster.NewDatabase(), outputs = Fixtures.TempDir("vg-outputs");
        using var a = PostgresFixture.Open(url, outputs);
        using var b = PostgresFixture.Open(url, outputs);
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47 };
        var added = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(() =>
        {
            var store = i % 2 == 0 ? a : b;
            var job = PostgresFixture.NewJob(store) with { HasInputReference = true };
            return (job.Id, Added: store.Add(job, png, 5));
        })));
        Assert.Equal(5, added.Count(x => x.Added));
        Assert.Equal(5, a.CountByStatus()[JobStatus.Queued]);
        foreach (var (id, ok) in added) Assert.Equal(ok, a.Outputs.ReadInput(id) is not null); // a refused job keeps no image
        // a claimed job leaves room for one more
        a.TryClaim(Models, 0);
        Assert.True(b.Add(PostgresFixture.NewJob(b), null, 5));
        Assert.False(a.Add(PostgresFixture.NewJob(a), null, 5));
    }

    [Fact]
    public void An_unreachable_store_is_named_without_its_password()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)) { l.Start(); port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port; }
        var e = Assert.Throws<StoreUnavailableException>(() => PostgresFixture.Open($"postgres://vg:secret@127.0.0.1:{port}/jobs", Fixtures.TempDir("vg-outputs")));
        Assert.Contains($"postgres://vg@127.0.0.1:{port}/jobs", e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }
}
