using System.Diagnostics;
using VisualGen.Pipelines;

namespace VisualGen.Cli;

/// <summary>
/// Progress on stderr: a line per stage; denoising steps as a bar with the time left, redrawn in place when stderr is
/// a terminal, or one plain line per step otherwise (logs, pipes, tests).
/// </summary>
sealed class ConsoleProgress(TextWriter log, bool terminal) : IProgress<GenerationProgress>
{
    const int BarWidth = 30;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    string _stage = "";
    TimeSpan _denoiseStart;
    bool _barOpen;

    public void Report(GenerationProgress p)
    {
        lock (this)
        {
            if (p.Stage != _stage)
            {
                EndBar();
                _stage = p.Stage;
                _denoiseStart = _clock.Elapsed;
                log.WriteLine($"{Stamp} {p.Stage}");
            }
            if (p.Stage != "denoise" || p.Step <= 0) return;
            if (!terminal) { log.WriteLine($"{Stamp}   step {p.Step}/{p.TotalSteps}"); return; }
            int filled = p.TotalSteps > 0 ? BarWidth * p.Step / p.TotalSteps : 0;
            var perStep = (_clock.Elapsed - _denoiseStart) / p.Step;
            var left = perStep * Math.Max(0, p.TotalSteps - p.Step);
            log.Write($"\r{Stamp}   [{new string('#', filled)}{new string('.', BarWidth - filled)}] step {p.Step}/{p.TotalSteps}  ETA {left:hh\\:mm\\:ss}  ");
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
