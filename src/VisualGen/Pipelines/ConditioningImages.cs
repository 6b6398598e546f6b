using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>The conditioning images of a request: <see cref="GenerationRequest.Image"/> or <see cref="GenerationRequest.Images"/>.</summary>
public static class ConditioningImages
{
    /// <summary>The images in order (none, <see cref="GenerationRequest.Image"/> alone, or <see cref="GenerationRequest.Images"/>);
    /// both given, an empty list, or a null entry in the list is refused.</summary>
    public static IReadOnlyList<HostTensor> Of(GenerationRequest r)
    {
        if (r.Images is { } many)
        {
            if (r.Image is not null) throw new GenerationException("image", "give the conditioning image either as image or in images, not both");
            if (many.Count == 0) throw new GenerationException("image", "images is empty; leave it out for no conditioning image");
            for (int i = 0; i < many.Count; i++)
                if (many[i] is null) throw new GenerationException("image", $"images[{i}] is null; give each conditioning image as a [height, width, 3] float32 tensor");
            return many;
        }
        return r.Image is { } one ? [one] : [];
    }

    /// <summary>The request with these images: none, one as <see cref="GenerationRequest.Image"/>, several as <see cref="GenerationRequest.Images"/>.</summary>
    public static GenerationRequest With(GenerationRequest r, IReadOnlyList<HostTensor> images) => images.Count switch
    {
        0 => r with { Image = null, Images = null },
        1 => r with { Image = images[0], Images = null },
        _ => r with { Image = null, Images = images },
    };

    /// <summary>For a pipeline that takes at most one image, as <see cref="GenerationRequest.Image"/>: a list is refused,
    /// naming the family (the pipeline reads Image alone, so a list would otherwise go unseen).</summary>
    public static void RefuseList(GenerationRequest r, string family)
    {
        if (r.Images is { } many)
            throw new GenerationException("image", many.Count > 1
                ? $"{family} takes one conditioning image, got {many.Count} (several reference images are FLUX.2's)"
                : $"{family} takes its conditioning image as image, not in images");
    }
}
