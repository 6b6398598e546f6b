using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>torch.nn.Embedding: rows of <c>weight</c> [num_embeddings, dim] gathered by int64 ids.</summary>
public sealed class Embedding(Weights w, int numEmbeddings, int dim, string key = "weight")
{
    readonly Tensor _weight = w.Get(key, [numEmbeddings, dim]);

    public Tensor Weight => _weight;

    public Tensor Forward(Tensor ids) => _weight.Gather(ids, 0);
}
