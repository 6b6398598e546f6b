using System.Diagnostics;
using VisualGen.Pipelines;

namespace VisualGen.Cli;

/// <summary>
/// Progress on stderr: a line per stage; denoising steps, and the tiles of a tiled decode (reported after the stage
/// began), as a bar with the time left, redrawn in place when stderr is a terminal, or one plain line each otherwise
/// (logs, pipes, tests).
/// </summary>
sealed class ConsoleProgress(TextWriter log, bool terminal) : IProgress<GenerationProgress>
{
    const int BarWidth = 30;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    string _stage = "";
    TimeSpan _stageStart;
    bool _barOpen;

    public void Report(GenerationProgress p)
    {
        lock (this)
        {
            bool began = p.Stage != _stage;
            if (began)
            {
                EndBar();
                _stage = p.Stage;
                _stageStart = _clock.Elapsed;
                log.WriteLine($"{Stamp} {p.Stage}");
            }
            // "decode" begins with the steps done; the reports after it are a tiled decode's tiles
            string? unit = p.Stage == "denoise" ? "step" : p.Stage == "decode" && !began ? "tile" : null;
            if (unit is null || p.Step <= 0) return;
            if (!terminal) { log.WriteLine($"{Stamp}   {unit} {p.Step}/{p.TotalSteps}"); return; }
            int filled = p.TotalSteps > 0 ? BarWidth * p.Step / p.TotalSteps : 0;
            var perStep = (_clock.Elapsed - _stageStart) / p.Step;
            var left = perStep * Math.Max(0, p.TotalSteps - p.Step);
            log.Write($"\r{Stamp}   [{new string('#', filled)}{new string('.', BarWidth - filled)}] {unit} {p.Step}/{p.TotalSteps}  ETA {left:hh\\:mm\\:ss}  ");
            _barOpen = true;
        }
    }

    public void Done()
    {
        lock (this)
        {
            EndBar();
            log.WriteLine($"{Stamp} finished");
        }
    }

    string Stamp => $"[{_clock.Elapsed.TotalSeconds,6:F1}s]";

    void EndBar()
    {
        if (_barOpen) log.WriteLine();
        _barOpen = false;
    }
}
