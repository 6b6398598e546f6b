namespace VisualGen.Server.Jobs;

/// <summary>
/// The one worker: generation saturates the CPU or GPU, so requests run one at a time in queue order.
/// </summary>
public sealed class GenerationWorker(WorkQueue queue, ILogger<GenerationWorker> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var (work, runToken) = await queue.TakeAsync(stoppingToken);
                try
                {
                    await work.RunAsync(runToken);
                }
                catch (OperationCanceledException) when (runToken.IsCancellationRequested)
                {
                    // deleted while running, or shutdown: the work item has recorded what it must
                }
                catch (Exception e)
                {
                    log.LogError(e, "generation work failed outside its own handling");
                }
                finally
                {
                    queue.Finished(work);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            queue.Drain();
        }
    }
}
