using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>An up block of the Wan VAE decoder (<see cref="WanUpBlock"/> or <see cref="WanResidualUpBlock"/>).</summary>
public interface IWanUpBlock : IWanVaeLayer;
