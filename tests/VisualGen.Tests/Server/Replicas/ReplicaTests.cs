using System.Net;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server.Replicas;

/// <summary>
/// Two server replicas on one PostgreSQL store and one outputs folder, as deployed behind a load balancer: jobs run once
/// whichever replica took them, every replica answers for every job, a killed replica's job is finished by the other once
/// its lease runs out, and a restart of PostgreSQL loses nothing.
/// </summary>
[Collection(LeaseTimedCollection.Name)]
public sealed class ReplicaTests(PostgresFixture pg) : IClassFixture<PostgresFixture>
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    static async Task<string> SubmitAsync(HttpClient http, string prompt, long seed = 1)
    {
        var (status, body) = await HttpJson.PostAsync(http, "/v1/videos", new { prompt, seed });
        Assert.True(status == 200, $"POST /v1/videos: {status} {body}");
        return body.GetProperty("id").GetString()!;
    }

    static async Task<byte[]> ContentAsync(HttpClient http, string id)
    {
        using var r = await http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("video/mp4", r.Content.Headers.ContentType?.MediaType);
        return await r.Content.ReadAsByteArrayAsync();
    }

    [ReplicaFact]
    public async Task A_hundred_jobs_submitted_to_either_replica_each_run_exactly_once_and_either_serves_them()
    {
        var d = new Deployment(pg.Cluster.NewDatabase());
        GradientPipeline p1 = new(), p2 = new();
        await using var s1 = await d.StartAsync(p1);
        await using var s2 = await d.StartAsync(p2);
        var ids = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => SubmitAsync((i % 2 == 0 ? s1 : s2).Http, $"job {i}", i)));
        Assert.Equal(100, ids.Distinct().Count());
        foreach (var id in ids) await s1.WaitForStatusAsync(id, Patience, "completed", "failed");

        Assert.True(p1.Generations + p2.Generations == 100, $"{p1.Generations} + {p2.Generations} generations for 100 jobs; lease lines:\n" +
            string.Join("\n", s1.Logs.Lines.Concat(s2.Logs.Lines).Where(l => l.Contains("lease") || l.Contains("no longer"))));
        Assert.True(p1.Generations > 0 && p2.Generations > 0, $"one replica ran every job ({p1.Generations} / {p2.Generations})");
        Assert.Equal(100L, d.Query<long>("SELECT count(*) FROM visualgen_jobs WHERE status = 'completed' AND claims = 1"));
        foreach (var id in ids)
        {
            var (c2, v2) = await s2.GetJsonAsync($"/v1/videos/{id}");
            Assert.Equal((200, "completed"), (c2, v2.GetProperty("status").GetString()));
        }
        foreach (var id in ids.Take(5))
            Assert.Equal(await ContentAsync(s1.Http, id), await ContentAsync(s2.Http, id));

        // the list is the store's, the same from both; a delete on one is seen by the other
        var (_, l1) = await s1.GetJsonAsync("/v1/videos?limit=100&order=asc");
        var (_, l2) = await s2.GetJsonAsync("/v1/videos?limit=100&order=asc");
        Assert.Equal(ids.Order(), l1.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).Order());
        Assert.Equal(l1.ToString(), l2.ToString());
        using (var del = await s1.Http.DeleteAsync($"/v1/videos/{ids[0]}")) Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        Assert.Equal(404, (await s2.GetJsonAsync($"/v1/videos/{ids[0]}")).Status);
        using (var gone = await s2.Http.GetAsync($"/v1/videos/{ids[0]}/content")) Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [ReplicaFact]
    public async Task The_queue_bound_is_the_deployments_not_each_replicas()
    {
        var d = new Deployment(pg.Cluster.NewDatabase());
        var gate = new PipelineGate(open: false);
        await using var s1 = await d.StartAsync(new GradientPipeline(gate: gate), queueSize: 3);
        await using var s2 = await d.StartAsync(new GradientPipeline(gate: gate), queueSize: 3);
        // each replica holds one job at its gate, three more wait in the store: the fourth waiting is refused by either
        var held = new[] { await SubmitAsync(s1.Http, "a"), await SubmitAsync(s2.Http, "b") };
        foreach (var id in held) await s1.WaitForStatusAsync(id, Patience, "in_progress");
        var waiting = new[] { await SubmitAsync(s1.Http, "c"), await SubmitAsync(s2.Http, "d"), await SubmitAsync(s1.Http, "e") };
        foreach (var s in new[] { s1, s2 })
        {
            var (hs, health) = await s.GetJsonAsync("/health");
            Assert.Equal((200, 3, 3), (hs, health.GetProperty("queue_depth").GetInt32(), health.GetProperty("queue_capacity").GetInt32()));
            var (status, body) = await s.PostJsonAsync("/v1/videos", new { prompt = "one too many" });
            Assert.Equal(429, status);
            LiveServer.AssertError(body, "queue_full", type: "rate_limit_error");
        }
        gate.Open();
        foreach (var id in held.Concat(waiting)) await s2.WaitForStatusAsync(id, Patience, "completed");
    }

    [ReplicaFact]
    public async Task Deleting_a_job_on_one_replica_stops_it_where_it_runs()
    {
        var d = new Deployment(pg.Cluster.NewDatabase());
        var gate = new PipelineGate(open: false);
        var p1 = new GradientPipeline(gate: gate);
        await using var s1 = await d.StartAsync(p1);
        string id = await SubmitAsync(s1.Http, "held on the first");
        await s1.WaitForStatusAsync(id, Patience, "in_progress");
        await using var s2 = await d.StartAsync(new GradientPipeline());
        using (var del = await s2.Http.DeleteAsync($"/v1/videos/{id}")) Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        Assert.Equal(404, (await s1.GetJsonAsync($"/v1/videos/{id}")).Status);
        // the first replica's worker let the job go: it takes the next one
        gate.Open();
        string next = await SubmitAsync(s1.Http, "next");
        await s1.WaitForStatusAsync(next, Patience, "completed");
        Assert.Equal(0L, d.Query<long>($"SELECT count(*) FROM visualgen_jobs WHERE id = '{id}'"));
    }

    [ReplicaFact]
    public async Task A_killed_replicas_job_is_finished_by_the_other_after_its_lease_and_never_while_it_lives()
    {
        var d = new Deployment(pg.Cluster.NewDatabase());
        using var doomed = await d.StartProcessAsync(heldPrompt: "held until killed");
        string id = await SubmitAsync(doomed.Http, "held until killed", seed: 3);
        await HttpJson.WaitForStatusAsync(doomed.Http, id, Patience, "in_progress");

        var survivor = new GradientPipeline();
        await using var s2 = await d.StartAsync(survivor);
        // while its replica lives (renewing the lease), the job is not taken, through more than two leases; the other
        // replica is not idle for lack of work: it runs a job of its own meanwhile
        string other = await SubmitAsync(s2.Http, "another job");
        await s2.WaitForStatusAsync(other, Patience, "completed");
        var end = DateTime.UtcNow + 2.5 * Deployment.Lease;
        while (DateTime.UtcNow < end)
        {
            var (_, v) = await s2.GetJsonAsync($"/v1/videos/{id}");
            Assert.Equal("in_progress", v.GetProperty("status").GetString());
            await Task.Delay(100);
        }
        Assert.Equal(1, d.Query<int>($"SELECT claims FROM visualgen_jobs WHERE id = '{id}'"));

        doomed.Kill();
        var done = await s2.WaitForStatusAsync(id, Patience, "completed", "failed");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(2, survivor.Generations);
        Assert.Equal(2, d.Query<int>($"SELECT claims FROM visualgen_jobs WHERE id = '{id}'"));
        Assert.Contains(s2.Logs.Lines, l => l.Contains(id) && l.Contains("lease ran out"));
        Assert.NotEmpty(await ContentAsync(s2.Http, id));
    }

    [ReplicaFact]
    public async Task A_replica_stopped_with_SIGTERM_hands_its_unfinished_job_to_the_other_at_once()
    {
        var d = new Deployment(pg.Cluster.NewDatabase());
        using var stopping = await d.StartProcessAsync(heldPrompt: "held until stopped");
        string id = await SubmitAsync(stopping.Http, "held until stopped", seed: 5);
        await HttpJson.WaitForStatusAsync(stopping.Http, id, Patience, "in_progress");
        var survivor = new GradientPipeline();
        await using var s2 = await d.StartAsync(survivor);

        stopping.Terminate(); // past the grace period the job is stopped and stored as queued: no lease to wait for
        Assert.Equal(0, await stopping.WaitForExitAsync(Patience));
        await s2.WaitForStatusAsync(id, Patience, "completed");
        Assert.Equal(1, survivor.Generations);
        Assert.DoesNotContain(s2.Logs.Lines, l => l.Contains("lease ran out"));
    }

    [ReplicaFact]
    public async Task Replicas_survive_a_restart_of_PostgreSQL_and_lose_no_job()
    {
        var d = new Deployment(pg.Cluster.NewDatabase());
        var gate = new PipelineGate(open: false);
        await using var s1 = await d.StartAsync(new GradientPipeline(gate: gate));
        await using var s2 = await d.StartAsync(new GradientPipeline(gate: gate));
        var before = new List<string>();
        for (int i = 0; i < 10; i++) before.Add(await SubmitAsync((i % 2 == 0 ? s1 : s2).Http, $"before {i}", i));
        var end = DateTime.UtcNow + Patience;
        while (d.Query<long>("SELECT count(*) FROM visualgen_jobs WHERE status = 'in_progress'") < 2) // each replica holds one at its gate
        {
            Assert.True(DateTime.UtcNow < end, "the replicas did not claim a job each");
            await Task.Delay(50);
        }

        pg.Cluster.Stop();
        try
        {
            var (status, body) = await s1.GetJsonAsync($"/v1/videos/{before[0]}");
            Assert.Equal(503, status);
            LiveServer.AssertError(body, "store_unavailable", type: "server_error");
            (status, body) = await s2.PostJsonAsync("/v1/videos", new { prompt = "while the store is down" });
            Assert.Equal(503, status);
            (status, body) = await s2.GetJsonAsync("/health");
            Assert.Equal((503, "degraded"), (status, body.GetProperty("status").GetString()));
            Assert.Equal("the job store (PostgreSQL) is unreachable", body.GetProperty("storage").GetString());
        }
        finally
        {
            pg.Cluster.Start();
        }
        gate.Open();
        Assert.Equal(200, (await s1.GetJsonAsync("/health")).Status);
        var after = new List<string>();
        for (int i = 0; i < 10; i++) after.Add(await SubmitAsync((i % 2 == 0 ? s2 : s1).Http, $"after {i}", 100 + i));
        foreach (var id in before.Concat(after))
        {
            var v = await s1.WaitForStatusAsync(id, Patience, "completed", "failed");
            Assert.True(v.GetProperty("status").GetString() == "completed", v.ToString());
        }
        Assert.Equal(20L, d.Query<long>("SELECT count(*) FROM visualgen_jobs WHERE status = 'completed'"));
        Assert.NotEmpty(await ContentAsync(s2.Http, before[0]));
    }
}
