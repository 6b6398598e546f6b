namespace VisualGen.Bench.ExportMemory;

/// <summary>Resident-set figures of this process from /proc/self/status (Linux), in bytes.</summary>
readonly record struct MemorySample(long VmHwm, long VmRss, long RssAnon, long RssFile)
{
    public static MemorySample Read()
    {
        long hwm = 0, rss = 0, anon = 0, file = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:")) hwm = Kb(line);
            else if (line.StartsWith("VmRSS:")) rss = Kb(line);
            else if (line.StartsWith("RssAnon:")) anon = Kb(line);
            else if (line.StartsWith("RssFile:")) file = Kb(line);
        }
        return new(hwm, rss, anon, file);
    }

    static long Kb(string line) => long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0]) * 1024;
}

/// <summary>Samples /proc/self/status on a background thread and keeps the peaks of anonymous and file-backed RSS
/// (VmHWM only has their sum).</summary>
sealed class MemoryPeakSampler : IDisposable
{
    readonly Thread _thread;
    volatile bool _stop;
    long _peakAnon, _peakFile;

    public MemoryPeakSampler(int intervalMs = 20)
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                var s = MemorySample.Read();
                _peakAnon = Math.Max(_peakAnon, s.RssAnon);
                _peakFile = Math.Max(_peakFile, s.RssFile);
                Thread.Sleep(intervalMs);
            }
        }) { IsBackground = true, Name = "rss-sampler" };
        _thread.Start();
    }

    public long PeakAnon => Interlocked.Read(ref _peakAnon);
    public long PeakFile => Interlocked.Read(ref _peakFile);

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
