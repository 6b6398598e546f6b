using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using VisualGen.Server.Api;

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// Video jobs in PostgreSQL, shared by every replica (<c>--store postgres://…</c>); their files in a shared
/// <see cref="IOutputStore"/> (<c>--outputs</c>). A replica claims the oldest queued job of a model it serves
/// (<c>FOR UPDATE SKIP LOCKED</c>: two replicas never take the same row) and holds it under a lease that its
/// <see cref="LeaseHeartbeat"/> renews; a job whose lease ran out (its replica died) is queued again by whichever replica
/// looks next. Changes of a running job are fenced: they apply only while this replica owns it, so a replica that lost
/// its lease never completes a job another one has taken. Other replicas hear of changes through NOTIFY on
/// <see cref="Channel"/>. A store that cannot be reached throws <see cref="StoreUnavailableException"/>.
/// </summary>
public sealed class PostgresJobStore : IJobStore, IDisposable
{
    public const string Channel = "visualgen_jobs";
    const string Columns = "id, sequence, model, spec, status, progress, created_at, started_at, completed_at, error, has_input_reference, step_cache";

    readonly NpgsqlDataSource _db, _background;
    readonly IOutputStore _outputs;
    readonly JsonSerializerOptions _json;
    readonly StoreSignals _signals;

    PostgresJobStore(NpgsqlDataSource db, StoreAddress address, IOutputStore outputs, JsonSerializerOptions json, StoreSignals signals, TimeSpan lease)
    {
        _db = db;
        // the replica's own services (lease renewals, LISTEN) on connections requests cannot take
        _background = NpgsqlDataSource.Create(address.ConnectionString + ";Maximum Pool Size=3");
        Address = address;
        _outputs = outputs;
        _json = json;
        _signals = signals;
        Lease = lease;
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    }

    /// <summary>Connects and applies the schema's migrations; an unreachable store is a <see cref="StoreUnavailableException"/> naming it.</summary>
    public static PostgresJobStore Open(StoreAddress address, IOutputStore outputs, JsonSerializerOptions json, StoreSignals signals, TimeSpan lease)
    {
        var db = NpgsqlDataSource.Create(address.ConnectionString);
        var store = new PostgresJobStore(db, address, outputs, json, signals, lease);
        try
        {
            store.AppliedMigrations = store.Run(c => JobStoreSchema.Migrate(c));
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // reached but refused: a wrong password, no such database, a schema newer than this server
            store.Dispose();
            throw new StoreUnavailableException($"The job store {address.Display} cannot be used: {e.Message}", e);
        }
        catch
        {
            store.Dispose();
            throw;
        }
        return store;
    }

    public StoreAddress Address { get; }

    /// <summary>The schema versions this start applied (none when the store was up to date).</summary>
    public IReadOnlyList<int> AppliedMigrations { get; private set; } = [];

    /// <summary>This process's name in the owner column (host/pid/random): unique per start.</summary>
    public string Owner { get; }

    public TimeSpan Lease { get; }

    public bool IsShared => true;

    public IOutputStore Outputs => _outputs;

    /// <summary>Connections for the replica's own services (LISTEN), apart from those of requests.</summary>
    public NpgsqlDataSource BackgroundDataSource => _background;

    /// <summary>What this replica hears from the store (<see cref="StoreListener"/> raises them).</summary>
    public StoreSignals Signals => _signals;

    public long NextSequence() => Run(c => Convert.ToInt64(Command(c, "SELECT nextval('visualgen_job_sequence')").ExecuteScalar()));

    public bool Add(VideoJob job, byte[]? inputPng, int queueBound)
    {
        if (job.HasInputReference != inputPng is not null)
            throw new ArgumentException($"job {job.Id}: an input image must be given exactly when the job has an input reference", nameof(inputPng));
        if (inputPng is not null) _outputs.WriteInput(job.Id, inputPng);
        bool added = false;
        try
        {
            added = Run(c =>
            {
                using var tx = c.BeginTransaction();
                Command(c, $"SELECT pg_advisory_xact_lock({JobStoreSchema.AdmissionLock})", tx).ExecuteNonQuery();
                long queued = Convert.ToInt64(Command(c, "SELECT count(*) FROM visualgen_jobs WHERE status = 'queued'", tx).ExecuteScalar());
                if (queued >= queueBound) return false;
                var insert = Command(c, $"INSERT INTO visualgen_jobs ({Columns}) VALUES (@id, @sequence, @model, @spec, @status, @progress, @created_at, @started_at, @completed_at, @error, @has_input_reference, @step_cache)", tx);
                Bind(insert, job);
                insert.ExecuteNonQuery();
                Notify(c, tx, "queued");
                tx.Commit();
                return true;
            });
            return added;
        }
        finally
        {
            if (!added && inputPng is not null) _outputs.DeleteFilesOf(job.Id);
        }
    }

    public VideoJob? Get(string id) => Run(c =>
    {
        var cmd = Command(c, $"SELECT {Columns} FROM visualgen_jobs WHERE id = @id");
        cmd.Parameters.AddWithValue("id", id);
        return ReadAll(cmd).FirstOrDefault();
    });

    /// <summary>Fenced: applies only to a job this replica owns and runs (claimed, lease held); null otherwise (deleted, or
    /// taken by another replica after the lease ran out). A progress tick (<paramref name="persist"/> false) that the store
    /// does not take is dropped.</summary>
    public VideoJob? Update(string id, Func<VideoJob, VideoJob> change, bool persist = true)
    {
        try
        {
            return Run(c =>
            {
                using var tx = c.BeginTransaction();
                var select = Command(c, $"SELECT {Columns} FROM visualgen_jobs WHERE id = @id AND owner = @owner AND status = 'in_progress' FOR UPDATE", tx);
                select.Parameters.AddWithValue("id", id);
                select.Parameters.AddWithValue("owner", Owner);
                if (ReadAll(select).FirstOrDefault() is not { } job) return null;
                var updated = change(job);
                var write = Command(c, """
                    UPDATE visualgen_jobs SET status = @status, progress = @progress, started_at = @started_at, completed_at = @completed_at,
                        error = @error, step_cache = @step_cache,
                        owner = CASE WHEN @status = 'queued' THEN NULL ELSE owner END,
                        lease_until = CASE WHEN @status = 'in_progress' THEN lease_until ELSE NULL END,
                        queued_at = CASE WHEN @status = 'queued' THEN now() ELSE queued_at END
                    WHERE id = @id
                    """, tx);
                Bind(write, updated);
                write.ExecuteNonQuery();
                if (updated.Status == JobStatus.Queued) Notify(c, tx, "queued");
                else if (JobStatus.IsFinished(updated.Status)) Notify(c, tx, "finished:" + id);
                tx.Commit();
                return updated;
            });
        }
        catch (StoreUnavailableException) when (!persist)
        {
            return null;
        }
    }

    /// <summary>False when the store does not take the final state: the job stays in_progress there, its lease runs out
    /// and another replica (or this one) runs it again.</summary>
    public bool? Finish(string id, Func<VideoJob, VideoJob> change)
    {
        try
        {
            return Update(id, change) is null ? null : true;
        }
        catch (StoreUnavailableException)
        {
            return false;
        }
    }

    public bool Delete(string id)
    {
        bool deleted = Run(c =>
        {
            using var tx = c.BeginTransaction();
            // the job's place stays a day for listing cursors (visualgen_deleted_jobs)
            var cmd = Command(c, """
                WITH gone AS (DELETE FROM visualgen_jobs WHERE id = @id RETURNING id, sequence)
                INSERT INTO visualgen_deleted_jobs (id, sequence) SELECT id, sequence FROM gone ON CONFLICT (id) DO NOTHING
                """, tx);
            cmd.Parameters.AddWithValue("id", id);
            if (cmd.ExecuteNonQuery() == 0) return false;
            Command(c, "DELETE FROM visualgen_deleted_jobs WHERE deleted_at < now() - interval '1 day'", tx).ExecuteNonQuery();
            Notify(c, tx, "deleted:" + id);
            tx.Commit();
            return true;
        });
        if (deleted) _outputs.DeleteFilesOf(id);
        return deleted;
    }

    public async Task<VideoJob?> WaitFinishedAsync(string id, CancellationToken ct)
    {
        while (true)
        {
            var waiting = _signals.WaitForChangeAsync(TimeSpan.FromSeconds(1), ct); // before reading: a change in between wakes it
            try
            {
                var job = Get(id);
                if (job is null || JobStatus.IsFinished(job.Status)) return job;
            }
            catch (StoreUnavailableException) { } // the store restarts: the client keeps waiting
            await waiting;
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <inheritdoc/>
    public (IReadOnlyList<VideoJob> Page, bool HasMore)? List(string? after, int limit, bool descending) => Run<(IReadOnlyList<VideoJob>, bool)?>(c =>
    {
        long? cursor = null;
        if (after is not null)
        {
            var place = Command(c, """
                SELECT sequence FROM visualgen_jobs WHERE id = @after
                UNION ALL SELECT sequence FROM visualgen_deleted_jobs WHERE id = @after LIMIT 1
                """);
            place.Parameters.AddWithValue("after", after);
            if (place.ExecuteScalar() is not long seq) return null;
            cursor = seq;
        }
        string where = cursor is null ? "" : $"WHERE sequence {(descending ? "<" : ">")} @cursor";
        var cmd = Command(c, $"SELECT {Columns} FROM visualgen_jobs {where} ORDER BY sequence {(descending ? "DESC" : "ASC")} LIMIT @limit");
        if (cursor is long s) cmd.Parameters.AddWithValue("cursor", s);
        cmd.Parameters.AddWithValue("limit", limit + 1);
        var page = ReadAll(cmd);
        bool more = page.Count > limit;
        if (more) page.RemoveAt(limit);
        return ((IReadOnlyList<VideoJob>)page, more);
    });

    public IReadOnlyList<(VideoJob Job, long Bytes)> FinishedWithBytes()
    {
        var finished = Run(c => ReadAll(Command(c, $"SELECT {Columns} FROM visualgen_jobs WHERE status IN ('completed', 'failed') ORDER BY completed_at, sequence")));
        return finished.Select(j => (j, _outputs.BytesOf(j.Id))).ToList();
    }

    public long UnfinishedBytes()
    {
        var unfinished = Run(c => ReadAll(Command(c, $"SELECT {Columns} FROM visualgen_jobs WHERE status IN ('queued', 'in_progress')")));
        return unfinished.Sum(j => _outputs.BytesOf(j.Id));
    }

    public IReadOnlyDictionary<string, int> CountByStatus()
    {
        var counts = JobStatus.All.ToDictionary(s => s, _ => 0);
        Run(c =>
        {
            using var reader = Command(c, "SELECT status, count(*) FROM visualgen_jobs GROUP BY status").ExecuteReader();
            while (reader.Read()) counts[reader.GetString(0)] = (int)reader.GetInt64(1);
            return 0;
        });
        return counts;
    }

    public bool CommitVideo(string id, string tempPath)
    {
        bool owned = Run(c =>
        {
            var cmd = Command(c, "SELECT 1 FROM visualgen_jobs WHERE id = @id AND owner = @owner AND status = 'in_progress'");
            cmd.Parameters.AddWithValue("id", id);
            cmd.Parameters.AddWithValue("owner", Owner);
            return cmd.ExecuteScalar() is not null;
        });
        if (!owned) { StorageException.DeleteQuietly(tempPath); return false; }
        _outputs.CommitVideo(id, tempPath);
        return true;
    }

    /// <summary>Claims the oldest queued job of one of <paramref name="models"/> for this replica, under a fresh lease; null when none waits.</summary>
    public Claim? TryClaim(IReadOnlyCollection<string> models, long now) => Run(c =>
    {
        while (true)  // an unreadable row is failed and the next one claimed
        {
            var cmd = Command(c, $"""
                UPDATE visualgen_jobs j SET status = 'in_progress', owner = @owner, lease_until = now() + make_interval(secs => @lease),
                    started_at = @now, progress = 0, claims = claims + 1
                FROM (SELECT id, queued_at FROM visualgen_jobs WHERE status = 'queued' AND model = ANY(@models)
                      ORDER BY sequence LIMIT 1 FOR UPDATE SKIP LOCKED) next
                WHERE j.id = next.id
                RETURNING {string.Join(", ", Columns.Split(", ").Select(col => "j." + col))}, extract(epoch FROM clock_timestamp() - next.queued_at)
                """);
            cmd.Parameters.AddWithValue("owner", Owner);
            cmd.Parameters.AddWithValue("lease", Lease.TotalSeconds);
            cmd.Parameters.AddWithValue("now", now);
            cmd.Parameters.AddWithValue("models", models.ToArray());
            string id;
            string problem;
            using (var reader = cmd.ExecuteReader())
            {
                if (!reader.Read()) return null;
                try { return new Claim(Row(reader), TimeSpan.FromSeconds(reader.GetDouble(Columns.Split(", ").Length))); }
                catch (JsonException e) { (id, problem) = (reader.GetString(0), e.Message); }
            }
            // claimed but unreadable: it can never run, so it fails, and the loop claims the next job
            OnUnreadableRow?.Invoke(id, problem);
            var fail = Command(c, "UPDATE visualgen_jobs SET status = 'failed', completed_at = @now, owner = NULL, lease_until = NULL, error = @error WHERE id = @id");
            fail.Parameters.AddWithValue("now", now);
            fail.Parameters.AddWithValue("id", id);
            fail.Parameters.AddWithValue("error", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(new JobError("unreadable_record", $"the job's stored record cannot be read: {problem}"), _json));
            fail.ExecuteNonQuery();
        }
    });

    /// <summary>Queues again the jobs whose lease ran out (their replica died or lost the store); their ids.</summary>
    public IReadOnlyList<string> RequeueExpired() => Run(c =>
    {
        using var tx = c.BeginTransaction();
        var cmd = Command(c, """
            UPDATE visualgen_jobs SET status = 'queued', owner = NULL, lease_until = NULL, progress = 0, started_at = NULL, queued_at = now()
            WHERE status = 'in_progress' AND lease_until < now() RETURNING id
            """, tx);
        var ids = new List<string>();
        using (var reader = cmd.ExecuteReader())
            while (reader.Read()) ids.Add(reader.GetString(0));
        if (ids.Count > 0) Notify(c, tx, "queued");
        tx.Commit();
        return (IReadOnlyList<string>)ids;
    });

    /// <summary>Renews the lease of the given jobs where this replica still owns and runs them; the ids renewed. On a pool
    /// of its own, so requests that hold every pooled connection never delay a renewal.</summary>
    public IReadOnlySet<string> RenewLeases(IReadOnlyCollection<string> ids) => Run(_background, c =>
    {
        var cmd = Command(c, """
            UPDATE visualgen_jobs SET lease_until = now() + make_interval(secs => @lease)
            WHERE id = ANY(@ids) AND owner = @owner AND status = 'in_progress' RETURNING id
            """);
        cmd.Parameters.AddWithValue("lease", Lease.TotalSeconds);
        cmd.Parameters.AddWithValue("ids", ids.ToArray());
        cmd.Parameters.AddWithValue("owner", Owner);
        var renewed = new HashSet<string>(StringComparer.Ordinal);
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) renewed.Add(reader.GetString(0));
        return (IReadOnlySet<string>)renewed;
    });

    /// <summary>
    /// Runs a statement on a pooled connection. A connection the server dropped (a restart) fails once: the pool is
    /// cleared and the statement runs again on a new connection; a store still unreachable is a
    /// <see cref="StoreUnavailableException"/> naming it.
    /// </summary>
    T Run<T>(Func<NpgsqlConnection, T> statement) => Run(_db, statement);

    T Run<T>(NpgsqlDataSource db, Func<NpgsqlConnection, T> statement)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var c = db.OpenConnection();
                return statement(c);
            }
            catch (Exception e) when (IsConnectionFault(e))
            {
                db.Clear();
                if (attempt >= 2)
                    throw new StoreUnavailableException($"The job store {Address.Display} is unreachable: {ClientText.WithoutPaths(e.Message)}", e);
            }
        }
    }

    /// <summary>The server is down, restarting or unreachable (not a statement it refused: that is a bug, thrown as is).</summary>
    static bool IsConnectionFault(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException => true,
        TimeoutException or IOException or System.Net.Sockets.SocketException => true,
        _ => false,
    };

    static NpgsqlCommand Command(NpgsqlConnection c, string sql, NpgsqlTransaction? tx = null) => new(sql, c, tx);

    static void Notify(NpgsqlConnection c, NpgsqlTransaction tx, string payload)
    {
        var cmd = Command(c, "SELECT pg_notify(@channel, @payload)", tx);
        cmd.Parameters.AddWithValue("channel", Channel);
        cmd.Parameters.AddWithValue("payload", payload);
        cmd.ExecuteNonQuery();
    }

    void Bind(NpgsqlCommand cmd, VideoJob j)
    {
        var p = cmd.Parameters;
        p.AddWithValue("id", j.Id);
        p.AddWithValue("sequence", j.Sequence);
        p.AddWithValue("model", j.Model);
        p.AddWithValue("spec", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(j.Spec, _json));
        p.AddWithValue("status", j.Status);
        p.AddWithValue("progress", j.Progress);
        p.AddWithValue("created_at", j.CreatedAt);
        p.AddWithValue("started_at", NpgsqlDbType.Bigint, (object?)j.StartedAt ?? DBNull.Value);
        p.AddWithValue("completed_at", NpgsqlDbType.Bigint, (object?)j.CompletedAt ?? DBNull.Value);
        p.AddWithValue("error", NpgsqlDbType.Jsonb, j.Error is null ? DBNull.Value : JsonSerializer.Serialize(j.Error, _json));
        p.AddWithValue("has_input_reference", j.HasInputReference);
        p.AddWithValue("step_cache", NpgsqlDbType.Jsonb, j.StepCache is null ? DBNull.Value : JsonSerializer.Serialize(j.StepCache, _json));
    }

    /// <summary>Told of each row a read skips because it cannot be read (its id, why): the server logs it.</summary>
    public Action<string, string>? OnUnreadableRow { get; set; }

    /// <summary>The rows as jobs; a row that cannot be read (a spec edited to JSON null by hand, say) is skipped and
    /// reported, as the embedded store skips an unreadable job file: one bad row never fails a listing.</summary>
    List<VideoJob> ReadAll(NpgsqlCommand cmd)
    {
        var jobs = new List<VideoJob>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            try { jobs.Add(Row(reader)); }
            catch (JsonException e) { OnUnreadableRow?.Invoke(reader.GetString(0), e.Message); }
        }
        return jobs;
    }

    VideoJob Row(NpgsqlDataReader r) => new()
    {
        Id = r.GetString(0),
        Sequence = r.GetInt64(1),
        Model = r.GetString(2),
        Spec = JsonSerializer.Deserialize<GenerationSpec>(r.GetString(3), _json) is { Prompt: not null } spec ? spec
            : throw new JsonException("its spec is not a generation spec (null, or without a prompt)"),
        Status = r.GetString(4),
        Progress = r.GetInt32(5),
        CreatedAt = r.GetInt64(6),
        StartedAt = r.IsDBNull(7) ? null : r.GetInt64(7),
        CompletedAt = r.IsDBNull(8) ? null : r.GetInt64(8),
        Error = r.IsDBNull(9) ? null : JsonSerializer.Deserialize<JobError>(r.GetString(9), _json),
        HasInputReference = r.GetBoolean(10),
        StepCache = r.IsDBNull(11) ? null : JsonSerializer.Deserialize<StepCacheSummary>(r.GetString(11), _json),
    };

    public void Dispose()
    {
        _db.Dispose();
        _background.Dispose();
    }
}

/// <summary>A job this replica claimed, and how long it had waited queued.</summary>
public sealed record Claim(VideoJob Job, TimeSpan Waited);
