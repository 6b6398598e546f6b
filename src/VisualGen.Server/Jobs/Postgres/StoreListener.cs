using Npgsql;

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// LISTEN on the store's channel, on a connection of its own: "queued" wakes the <see cref="JobClaimer"/>,
/// "finished:{id}" wakes synchronous clients, "deleted:{id}" also stops the job if it runs here. A lost connection (the
/// store restarts) is opened again; everything waiting is woken then, as notifications may have been missed meanwhile.
/// </summary>
public sealed class StoreListener(PostgresJobStore store, StoreSignals signals, WorkQueue queue, ILogger<StoreListener> log) : BackgroundService
{
    static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        bool lost = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await store.BackgroundDataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Heard(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresJobStore.Channel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                if (lost) log.LogInformation("job store {Store}: listening again", store.Address.Display);
                lost = false;
                signals.WorkQueued();
                signals.JobChanged();
                while (true) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or System.Net.Sockets.SocketException)
            {
                if (!lost) log.LogWarning("job store {Store}: lost its notifications ({Message}); reconnecting", store.Address.Display, e.Message);
                lost = true;
                try { await Task.Delay(Reconnect, stoppingToken); } catch (OperationCanceledException) { }
            }
        }
    }

    void Heard(string payload)
    {
        if (payload == "queued") signals.WorkQueued();
        else if (payload.StartsWith("finished:", StringComparison.Ordinal)) signals.JobChanged();
        else if (payload.StartsWith("deleted:", StringComparison.Ordinal))
        {
            queue.Cancel(payload["deleted:".Length..]); // running here: stopped (it finds its job gone)
            signals.JobChanged();
        }
    }
}
