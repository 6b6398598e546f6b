using VisualGen.Pipelines;
using VisualGen.Server.Api;

namespace VisualGen.Server.Hosting;

/// <summary>The models this process serves, by id. Owns (and disposes) their pipelines.</summary>
public sealed class ModelRegistry : IDisposable
{
    readonly Dictionary<string, ServedModel> _models = new(StringComparer.Ordinal);

    public ModelRegistry(IEnumerable<ServedModel> models)
    {
        foreach (var m in models)
            if (!_models.TryAdd(m.Id, m)) throw new ArgumentException($"model id '{m.Id}' is served twice");
        if (_models.Count == 0) throw new ArgumentException("the server needs at least one model");
    }

    public IReadOnlyCollection<ServedModel> All => _models.Values;

    /// <summary>The named model; null or empty means the only one served. An unknown id is a 404 model_not_found.</summary>
    public ServedModel Resolve(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            if (_models.Count == 1) return _models.Values.First();
            throw ApiException.Missing("model");
        }
        return _models.TryGetValue(id, out var m) ? m
            : throw new ApiException(StatusCodes.Status404NotFound, ApiException.InvalidRequest, "model", "model_not_found",
                $"The model '{id}' does not exist; this server serves: {string.Join(", ", _models.Keys)}.");
    }

    /// <summary>Finds a model by id without throwing (jobs loaded from disk may name one no longer served).</summary>
    public ServedModel? Find(string id) => _models.GetValueOrDefault(id);

    public void Dispose()
    {
        foreach (var m in _models.Values) m.Pipeline.Dispose();
    }

    /// <summary>The id a pipeline is served under when --model-name is not given: its family.</summary>
    public static string DefaultId(PipelineInfo info) => info.Family;
}
