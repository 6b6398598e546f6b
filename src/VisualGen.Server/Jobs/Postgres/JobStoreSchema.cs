using Npgsql;

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// The tables of the shared job store, created by versioned migrations at start-up: each runs once, in order, in one
/// transaction with its row in <c>visualgen_migrations</c>, under an advisory lock, so replicas starting together apply
/// it once. A store migrated by a newer server (a version this one does not know) is refused.
/// </summary>
public static class JobStoreSchema
{
    /// <summary>Lock keys (pg_advisory_xact_lock) of the migration and of admission (the queue bound).</summary>
    public const long MigrationLock = 0x5647_4D49_4752, AdmissionLock = 0x5647_4144_4D49;

    static readonly (int Version, string Description, string Sql)[] Migrations =
    [
        (1, "video jobs with ownership and lease", """
            CREATE SEQUENCE visualgen_job_sequence;
            CREATE TABLE visualgen_jobs (
                id text PRIMARY KEY,
                sequence bigint NOT NULL UNIQUE,
                model text NOT NULL,
                spec jsonb NOT NULL,
                status text NOT NULL CHECK (status IN ('queued', 'in_progress', 'completed', 'failed')),
                progress integer NOT NULL DEFAULT 0,
                created_at bigint NOT NULL,
                started_at bigint,
                completed_at bigint,
                error jsonb,
                has_input_reference boolean NOT NULL,
                queued_at timestamptz NOT NULL DEFAULT now(),
                owner text,
                lease_until timestamptz,
                claims integer NOT NULL DEFAULT 0
            );
            CREATE INDEX visualgen_jobs_queued ON visualgen_jobs (model, sequence) WHERE status = 'queued';
            CREATE INDEX visualgen_jobs_leases ON visualgen_jobs (lease_until) WHERE status = 'in_progress';
            """),
        (2, "what a job's step cache did", """
            ALTER TABLE visualgen_jobs ADD COLUMN step_cache jsonb;
            """),
        (3, "deleted jobs' places, for listing cursors", """
            CREATE TABLE visualgen_deleted_jobs (id text PRIMARY KEY, sequence bigint NOT NULL, deleted_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX visualgen_deleted_jobs_age ON visualgen_deleted_jobs (deleted_at);
            """),
    ];

    public static int Latest => Migrations[^1].Version;

    /// <summary>Applies the migrations this store lacks; returns the versions applied.</summary>
    public static IReadOnlyList<int> Migrate(NpgsqlConnection connection)
    {
        using var tx = connection.BeginTransaction();
        Execute(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLock})");
        Execute(connection, tx, "CREATE TABLE IF NOT EXISTS visualgen_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
        int current;
        using (var cmd = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM visualgen_migrations", connection, tx))
            current = Convert.ToInt32(cmd.ExecuteScalar());
        if (current > Latest)
            throw new InvalidOperationException($"the job store is at schema version {current}, newer than this server's {Latest}: upgrade the server");
        var applied = new List<int>();
        foreach (var (version, description, sql) in Migrations.Where(m => m.Version > current))
        {
            Execute(connection, tx, sql);
            using var record = new NpgsqlCommand("INSERT INTO visualgen_migrations (version, description) VALUES (@v, @d)", connection, tx);
            record.Parameters.AddWithValue("v", version);
            record.Parameters.AddWithValue("d", description);
            record.ExecuteNonQuery();
            applied.Add(version);
        }
        tx.Commit();
        return applied;
    }

    static void Execute(NpgsqlConnection connection, NpgsqlTransaction tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, connection, tx);
        cmd.ExecuteNonQuery();
    }
}
