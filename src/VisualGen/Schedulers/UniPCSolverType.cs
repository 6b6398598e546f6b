namespace VisualGen.Schedulers;

/// <summary>UniPC's B(h) (config key solver_type): bh1 = h, bh2 = e^h − 1.</summary>
public enum UniPCSolverType { Bh1, Bh2 }
