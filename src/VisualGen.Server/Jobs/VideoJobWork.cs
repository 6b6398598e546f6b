using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Server.Media;

namespace VisualGen.Server.Jobs;

/// <summary>Runs one stored video job: in_progress, read its input reference (image-to-video), generate, write the MP4, completed (or failed with the reason).</summary>
public sealed class VideoJobWork(ServedModel model, string jobId, IJobStore store, IMediaEncoder encoder, TimeProvider clock, ILogger log)
    : QueuedWork(model)
{
    public override string? JobId => jobId;

    public override async Task RunAsync(CancellationToken ct)
    {
        using var scope = log.BeginScope("job {JobId}", jobId);
        VideoJob? job;
        try
        {
            job = store.Update(jobId, j => j with { Status = JobStatus.InProgress, StartedAt = Now(), Progress = 0 });
        }
        catch (Postgres.StoreUnavailableException e)
        {
            log.LogError(e, "job not started: {Message}; its lease runs out and it runs again", e.Message);
            return;
        }
        catch (StorageException e)
        {
            // the data folder takes no writes: the job fails now rather than waiting forever (a queued record reruns after a restart)
            log.LogError(e, "job failed before it started: {Message}", e.Message);
            Fail(new JobError("storage_failed", e.Message));
            return;
        }
        if (job is null) return; // deleted while queued
        log.LogInformation("job started: {Size}, {Frames} frames, {Steps} steps, seed {Seed}",
            job.Spec.Size, job.Spec.NumFrames, job.Spec.NumInferenceSteps, job.Spec.Seed);
        var progress = new SyncProgress<GenerationProgress>(p =>
            store.Update(jobId, j => j with { Progress = Math.Max(j.Progress, ProgressPercent.Of(p)) }, persist: false));
        string tmp = store.Outputs.TempVideoPath(jobId);
        try
        {
            byte[]? png = job.HasInputReference ? store.Outputs.ReadInput(jobId) : null;
            if (job.HasInputReference && png is null)
            {
                log.LogError("job failed: its input reference image {Id}.png is missing", jobId);
                Fail(new JobError("input_reference_missing", "the job's stored input reference image is missing from the server's data folder"));
                return;
            }
            var image = png is null ? null : encoder.DecodeImage(png, $"input reference of {jobId}");
            var result = await Model.Pipeline.GenerateAsync(job.Spec.ToRequest() with { Image = image }, progress, ct);
            var frames = VideoFrames(result);
            await WriteMp4Async(frames, job.Spec.Fps, tmp, ct, VisualGen.Media.Soundtrack.Of(result));
            if (!store.CommitVideo(jobId, tmp)) return;
            var cache = Api.StepCacheSummary.Of(result.StepCache);
            store.Update(jobId, j => j with { Status = JobStatus.Completed, Progress = 100, CompletedAt = Now(), StepCache = cache });
            if (result.StepCache is { } report) log.LogInformation("job completed; {StepCache}", report);
            else log.LogInformation("job completed");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Deleted (the job is gone: nothing to store) or stopped at shutdown past its grace period
            PutBack(tmp, "job stopped by shutdown: stored as queued again");
            throw;
        }
        catch (EngineBuildStoppedException e)
        {
            // the shutdown stopped the engine build it waited on: a stop, not a failure of the job
            PutBack(tmp, $"job stopped: {e.Message}; stored as queued again");
        }
        catch (Postgres.StoreUnavailableException e)
        {
            // a shared store that cannot be reached: the job keeps its state there, its lease runs out and it runs again
            StorageException.DeleteQuietly(tmp);
            log.LogError(e, "job stopped: {Message}; it runs again once its lease runs out", e.Message);
        }
        catch (Exception e)
        {
            StorageException.DeleteQuietly(tmp);
            // the pipeline's refusals name a parameter and are meant for clients, as are storage faults (paths cut);
            // anything else (ONNX Runtime, CUDA) stays in the log
            var error = e switch
            {
                GenerationException g => new JobError("invalid_request", Api.ClientText.WithoutPaths($"{Api.PipelineParameter.Field(g.Parameter, video: true)}: {Api.PipelineParameter.Text(g)}")),
                StorageException d => new JobError("storage_failed", d.Message),
                Hosting.JobTimeoutException t => new JobError("timeout", t.Message),
                _ => new JobError("generation_failed", $"the generation failed on the server; its log has the details (job {jobId})"),
            };
            if (e is StorageException) store.Outputs.DeleteVideo(jobId); // committed but its completion not saved: the job failed
            log.LogError(e, "job failed: {Message}", e.Message);
            Fail(error);
        }
    }

    /// <summary>A job stopped before it finished: it goes back to queued, in memory and on disk (or in the shared store), so
    /// the next start (or another replica) runs it again from the start; a deleted job is gone, with nothing to store.</summary>
    void PutBack(string tmp, string stopped)
    {
        StorageException.DeleteQuietly(tmp);
        try
        {
            if (store.Update(jobId, j => j with { Status = JobStatus.Queued, Progress = 0, StartedAt = null }) is null)
                log.LogInformation("job cancelled");
            else log.LogInformation("{Stopped}", stopped);
        }
        catch (Exception e) when (e is StorageException or Postgres.StoreUnavailableException)
        {
            log.LogError(e, "job stopped, but its queued state could not be saved: {Message}", e.Message);
        }
    }

    /// <summary>Claimed from a shared store but never run (shutdown): the job goes back to queued there, for another replica.</summary>
    public override void Abandon()
    {
        if (!store.IsShared) return; // the data folder's record is still queued: the next start runs it
        try
        {
            store.Update(jobId, j => j with { Status = JobStatus.Queued, Progress = 0, StartedAt = null });
        }
        catch (Exception e) when (e is StorageException or Postgres.StoreUnavailableException)
        {
            log.LogError(e, "job {JobId} claimed but not run; it could not be put back (its lease expires instead): {Message}", jobId, e.Message);
        }
    }

    /// <summary>The pipeline's [1, frames, h, w, 3] (or an image model's [1, h, w, 3]) as [frames, h, w, 3].</summary>
    static VisualGen.Tensors.HostTensor VideoFrames(GenerationResult r)
    {
        var s = r.Output.Shape;
        if (s[0] != 1) throw new InvalidOperationException($"the pipeline returned a batch of {s[0]}; the server asks for one");
        return r.Output.Rank switch
        {
            5 => r.Output.Reshape(s[1], s[2], s[3], s[4]),
            4 => r.Output.Reshape(1, s[1], s[2], s[3]),
            _ => throw new InvalidOperationException($"pipeline output {r.Output.ShapeText} is neither a video nor an image"),
        };
    }

    /// <summary>The encoder's MP4, with a failure that comes from the videos folder (not the encoder) as a <see cref="StorageException"/>.</summary>
    async Task WriteMp4Async(VisualGen.Tensors.HostTensor frames, int fps, string path, CancellationToken ct, VisualGen.Media.Soundtrack? soundtrack)
    {
        try
        {
            await encoder.WriteMp4Async(frames, fps, path, ct, soundtrack);
        }
        catch (Exception e) when (e is not OperationCanceledException && store.Outputs.VideosProblem() is { } problem)
        {
            throw new StorageException($"The server could not write the video of {jobId} to its data folder: {problem}", e, isDelete: false);
        }
        catch (Exception e) when (StorageException.IsStorageFault(e))
        {
            throw StorageException.Writing($"the video of {jobId}", e);
        }
    }

    /// <summary>Marks the job failed, in memory even when the data folder does not take the record.</summary>
    void Fail(JobError error)
    {
        if (store.Finish(jobId, j => j with { Status = JobStatus.Failed, CompletedAt = Now(), Error = error }) == false)
            log.LogError("job failed ({Code}) but its record could not be saved: the data folder keeps its previous state", error.Code);
    }

    long Now() => clock.GetUtcNow().ToUnixTimeSeconds();
}

/// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
