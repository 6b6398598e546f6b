using System.Text.Json;

namespace VisualGen.Server.Jobs;

/// <summary>
/// Video jobs in memory and on disk: data/jobs/{id}.json (written to a temporary file and renamed over
/// the old one, so a crash leaves the old or the new state, never half of one), data/videos/{id}.mp4 and, for
/// image-to-video jobs, the uploaded input reference data/inputs/{id}.png (written before the job, deleted with it).
/// Every change goes through one lock; waiters of a job are released when it finishes or is deleted. The embedded
/// default: one process owns the folder (replicas share a <see cref="Postgres.PostgresJobStore"/> instead).
/// </summary>
public sealed class JobStore : IJobStore, IDisposable
{
    /// <summary>The lock file that says this process owns the data folder (opened exclusively for the store's life; the
    /// system releases it when the process ends, so a killed server leaves nothing to clean up).</summary>
    public const string OwnerLockName = ".server.lock";

    readonly FileStream _owner;
    readonly string _jobsDir;
    readonly OutputFolder _outputs;
    readonly JsonSerializerOptions _json;
    readonly StorageHealth? _health;
    readonly Lock _lock = new();
    readonly Dictionary<string, VideoJob> _jobs = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<TaskCompletionSource<VideoJob?>>> _waiters = new(StringComparer.Ordinal);
    /// <summary>Deleted ids with their sequence, so a listing cursor deleted meanwhile still marks its place (the oldest go first).</summary>
    readonly Dictionary<string, long> _removed = new(StringComparer.Ordinal);
    readonly Queue<string> _removedOrder = new();
    long _sequence;

    /// <summary>How many deleted ids the store remembers as listing cursors.</summary>
    public const int RemovedCursors = 10_000;

    /// <param name="outputsDir">Where videos and input images go (--outputs); null: the data folder.</param>
    public JobStore(string dataDir, JsonSerializerOptions json, StorageHealth? health = null, string? outputsDir = null)
    {
        _health = health;
        _jobsDir = Path.Combine(dataDir, "jobs");
        ServerFolder.Create(_jobsDir);
        // a second server on the same folder would re-queue this one's queued jobs and mark its running job failed
        string lockPath = Path.Combine(dataDir, OwnerLockName);
        try { _owner = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"the data folder {Path.GetFullPath(dataDir)} is in use by another VisualGen server (it holds {lockPath}): " +
                "give each server its own --data, or let servers share one queue through --store postgres://…", e);
        }
        try { _outputs = new OutputFolder(outputsDir ?? dataDir, health); }
        catch { _owner.Dispose(); throw; }
        _json = json;
    }

    /// <summary>Releases the data folder (the lock file stays: deleting it could let two processes hold two files).</summary>
    public void Dispose() => _owner.Dispose();

    /// <summary>The folder of the job records (absolute), as the startup log names it.</summary>
    public string JobsDirectory => Path.GetFullPath(_jobsDir);
    public bool IsShared => false;

    public IOutputStore Outputs => _outputs;

    /// <summary>
    /// Reads every stored job. A job stored as in_progress was running when the process ended: it is
    /// marked failed (code "server_restarted") and saved; the caller re-queues the queued ones.
    /// Unreadable files are reported to <paramref name="onBadFile"/> and skipped. Input images without a job (the
    /// process ended between writing the image and the job) are deleted.
    /// </summary>
    public IReadOnlyList<VideoJob> Load(long now, Action<string, Exception> onBadFile)
    {
        foreach (var tmp in Directory.EnumerateFiles(_jobsDir, "*.tmp")) File.Delete(tmp);
        _outputs.DeleteTemporaryFiles();
        lock (_lock)
        {
            foreach (var path in Directory.EnumerateFiles(_jobsDir, "*.json"))
            {
                try
                {
                    var job = JsonSerializer.Deserialize<VideoJob>(File.ReadAllText(path), _json)
                        ?? throw new JsonException("the file holds null");
                    if (!JobId.IsValid(job.Id, JobId.VideoPrefix) || Path.GetFileNameWithoutExtension(path) != job.Id)
                        throw new JsonException($"id '{job.Id}' does not match the file name");
                    if (!JobStatus.All.Contains(job.Status))
                        throw new JsonException($"status '{job.Status}' is none of {string.Join(", ", JobStatus.All)}");
                    // "required" only asks that a member is present: "spec": null would reach the worker and the API
                    if (job.Model is null || job.Spec is null || job.Spec.Prompt is null)
                        throw new JsonException("the record has no model, spec or prompt");
                    if (job.Status == JobStatus.InProgress)
                        job = Failed(job, now, "server_restarted", "server restarted while the job was running");
                    else if (job.Status == JobStatus.Completed && !File.Exists(_outputs.VideoPath(job.Id)))
                        job = Failed(job, job.CompletedAt ?? now, "output_missing", "the job's video file is missing from the server's data folder");
                    else if (job.Status == JobStatus.Queued && job.HasInputReference && !File.Exists(_outputs.InputPath(job.Id)))
                        job = Failed(job, now, "input_missing", "the job's input reference image is missing from the server's data folder");
                    _jobs[job.Id] = job;
                    _sequence = Math.Max(_sequence, job.Sequence);
                }
                catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
                {
                    onBadFile(path, e);
                }
            }
            // files whose job record is gone (the process ended between writing them and the record, or while deleting a
            // job) would never be served nor removed; those of a record that is only unreadable are kept with it
            foreach (var id in _outputs.StoredIds())
                if (!File.Exists(JobPath(id))) { File.Delete(_outputs.VideoPath(id)); File.Delete(_outputs.InputPath(id)); }
            return _jobs.Values.OrderBy(j => j.Sequence).ToList();
        }
    }

    /// <summary>The job marked failed with this error, and saved.</summary>
    VideoJob Failed(VideoJob job, long completedAt, string code, string message)
    {
        var failed = job with { Status = JobStatus.Failed, CompletedAt = completedAt, Error = new JobError(code, message) };
        Write(failed);
        return failed;
    }

    public long NextSequence()
    {
        lock (_lock) return ++_sequence;
    }

    /// <summary>Stores a new job; <paramref name="inputPng"/> (required when the job has an input reference) is written first,
    /// so a stored job never lacks its image.</summary>
    public void Add(VideoJob job, byte[]? inputPng = null)
    {
        if (job.HasInputReference != inputPng is not null)
            throw new ArgumentException($"job {job.Id}: an input image must be given exactly when the job has an input reference", nameof(inputPng));
        lock (_lock)
        {
            if (inputPng is not null) _outputs.WriteInput(job.Id, inputPng);
            try
            {
                Write(job);
            }
            catch
            {
                StorageException.DeleteQuietly(_outputs.InputPath(job.Id));
                throw;
            }
            _jobs.Add(job.Id, job);
        }
    }

    /// <summary>The data folder's store has no bound of its own: this process's queue refuses work past its capacity.</summary>
    public bool Add(VideoJob job, byte[]? inputPng, int queueBound)
    {
        Add(job, inputPng);
        return true;
    }

    public VideoJob? Get(string id)
    {
        lock (_lock) return _jobs.GetValueOrDefault(id);
    }

    /// <summary>Applies a change to a job that still exists; null when it was deleted. <paramref name="persist"/> false keeps it in memory (progress ticks).</summary>
    public VideoJob? Update(string id, Func<VideoJob, VideoJob> change, bool persist = true)
    {
        List<TaskCompletionSource<VideoJob?>>? release = null;
        VideoJob? updated;
        lock (_lock)
        {
            if (!_jobs.TryGetValue(id, out var job)) return null;
            updated = change(job);
            if (persist) Write(updated);
            _jobs[id] = updated;
            if (JobStatus.IsFinished(updated.Status) && _waiters.Remove(id, out release)) { }
        }
        release?.ForEach(t => t.TrySetResult(updated));
        return updated;
    }

    /// <summary>
    /// A final state that is kept even when it cannot be saved: in memory (what clients see) at least, on disk if the
    /// data folder takes it. False when it could not be saved (the record keeps its previous state: at the next start
    /// an in_progress record is marked failed, a queued one runs again). Null result: the job was deleted.
    /// </summary>
    public bool? Finish(string id, Func<VideoJob, VideoJob> change)
    {
        try
        {
            return Update(id, change) is null ? null : true;
        }
        catch (StorageException)
        {
            return Update(id, change, persist: false) is null ? null : false;
        }
    }

    /// <summary>
    /// Removes a job, its video and its input image; false when there was none. The record goes first: when it cannot
    /// be deleted this throws a <see cref="StorageException"/> and the job stays, in memory as on disk. A video or image
    /// left behind by a failed delete has no job and is removed at the next start.
    /// </summary>
    public bool Delete(string id)
    {
        List<TaskCompletionSource<VideoJob?>>? release;
        lock (_lock)
        {
            if (!_jobs.ContainsKey(id)) return false;
            try
            {
                File.Delete(JobPath(id));
            }
            catch (Exception e) when (StorageException.IsStorageFault(e))
            {
                throw Fault(StorageException.Deleting($"the record of {id}", e));
            }
            _jobs.Remove(id, out var removed);
            _removed[id] = removed!.Sequence;
            _removedOrder.Enqueue(id);
            if (_removedOrder.Count > RemovedCursors) _removed.Remove(_removedOrder.Dequeue());
            _outputs.DeleteFilesOf(id);
            _waiters.Remove(id, out release);
        }
        release?.ForEach(t => t.TrySetResult(null));
        return true;
    }

    /// <summary>Completes when the job is completed or failed (its final state) or deleted (null).</summary>
    public Task<VideoJob?> WaitFinishedAsync(string id, CancellationToken ct)
    {
        var tcs = new TaskCompletionSource<VideoJob?>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (!_jobs.TryGetValue(id, out var job)) return Task.FromResult<VideoJob?>(null);
            if (JobStatus.IsFinished(job.Status)) return Task.FromResult<VideoJob?>(job);
            if (!_waiters.TryGetValue(id, out var list)) _waiters[id] = list = [];
            list.Add(tcs);
        }
        return tcs.Task.WaitAsync(ct);
    }

    /// <inheritdoc/>
    public (IReadOnlyList<VideoJob> Page, bool HasMore)? List(string? after, int limit, bool descending)
    {
        lock (_lock)
        {
            IEnumerable<VideoJob> all = descending ? _jobs.Values.OrderByDescending(j => j.Sequence) : _jobs.Values.OrderBy(j => j.Sequence);
            if (after is not null)
            {
                long cursor;
                if (_jobs.TryGetValue(after, out var job)) cursor = job.Sequence;
                else if (!_removed.TryGetValue(after, out cursor)) return null;
                all = all.Where(j => descending ? j.Sequence < cursor : j.Sequence > cursor);
            }
            var page = all.Take(limit + 1).ToList();
            bool more = page.Count > limit;
            if (more) page.RemoveAt(limit);
            return (page, more);
        }
    }

    /// <summary>Completed and failed jobs with the bytes of their files (record, video, input image), for retention; the
    /// earliest finished first (ties in submission order).</summary>
    public IReadOnlyList<(VideoJob Job, long Bytes)> FinishedWithBytes()
    {
        List<VideoJob> finished;
        lock (_lock)
            finished = _jobs.Values.Where(j => JobStatus.IsFinished(j.Status)).OrderBy(j => j.CompletedAt).ThenBy(j => j.Sequence).ToList();
        return finished.Select(j => (j, BytesOf(j.Id))).ToList();
    }

    /// <summary>Bytes held by queued and running jobs (records, input images): counted by retention's size bound, never evicted.</summary>
    public long UnfinishedBytes()
    {
        List<string> ids;
        lock (_lock) ids = _jobs.Values.Where(j => !JobStatus.IsFinished(j.Status)).Select(j => j.Id).ToList();
        return ids.Sum(BytesOf);
    }

    long BytesOf(string id) => (new FileInfo(JobPath(id)) is { Exists: true } f ? f.Length : 0) + _outputs.BytesOf(id);

    public IReadOnlyDictionary<string, int> CountByStatus()
    {
        lock (_lock)
        {
            var counts = JobStatus.All.ToDictionary(s => s, _ => 0);
            foreach (var j in _jobs.Values) counts[j.Status] = counts.GetValueOrDefault(j.Status) + 1; // Load refuses other statuses; a gauge never throws
            return counts;
        }
    }

    /// <summary>Moves a finished video into place unless the job was deleted meanwhile (then drops it); false when dropped.</summary>
    public bool CommitVideo(string id, string tempPath)
    {
        lock (_lock)
        {
            if (!_jobs.ContainsKey(id)) { StorageException.DeleteQuietly(tempPath); return false; }
            _outputs.CommitVideo(id, tempPath);
            return true;
        }
    }

    /// <summary>Reports a storage fault to /health and returns it to throw.</summary>
    StorageException Fault(StorageException e)
    {
        _health?.Failed(e);
        return e;
    }

    string JobPath(string id) => Path.Combine(_jobsDir, id + ".json");

    void Write(VideoJob job)
    {
        string final = JobPath(job.Id), tmp = Path.Combine(_jobsDir, $"{job.Id}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(fs, job, _json);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, final, overwrite: true);
        }
        catch (Exception e) when (StorageException.IsStorageFault(e))
        {
            StorageException.DeleteQuietly(tmp);
            throw Fault(StorageException.Writing($"the record of {job.Id}", e));
        }
        _health?.Succeeded();
    }
}
